// ZENOH_CONFIG's transport.link.tls: Zenoh's keys, with their names, defaults and meaning as in
// zenohd's DEFAULT_CONFIG.json5, read into TlsKeys, and turned into the tls::TlsConfig of a tls/
// listener or of a tls/ connect (certificate files are read then).
//
//   root_ca_certificate     CA file: a client checks servers against it (and the system's CAs,
//                           as Zenoh adds the WebPKI roots); an mTLS listener checks clients
//   listen_certificate      a tls/ listener's certificate file (chain: leaf first)
//   listen_private_key      its key file
//   enable_mtls             false: a listener demands a client certificate, a client presents
//                           connect_certificate; both then speak TLS 1.3 only (as Zenoh)
//   connect_certificate     the client certificate file (used only with enable_mtls)
//   connect_private_key     its key file
//   verify_name_on_connect  true: the server's certificate must name the host of the tls/
//                           locator (subjectAltName DNS or IP)
//   <key>_base64            for the five files: the base64 of the PEM text instead of a path
//                           (one of the two per key)
//   close_link_on_expiration  true: a tls/ link is closed when the peer's certificate expires
//                           (false, the default: it stays up; new links are refused)
//
// Other keys under transport.link.tls (so_sndbuf, so_rcvbuf, unknown ones) are refused by name:
// a security setting that is silently ignored would be worse than an error.
//
// Thread safety: values and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "tls/config.hpp"
#include "zenoh/json5.hpp"

namespace dora::zenoh {

// One PEM setting: a file (`<key>`) or its text (`<key>_base64`, decoded; or handed over in
// memory by a program).
struct TlsPemSetting {
    std::string path;
    std::string pem;
    [[nodiscard]] bool empty() const { return path.empty() && pem.empty(); }
    friend bool operator==(const TlsPemSetting&, const TlsPemSetting&) = default;
};

struct TlsKeys {
    TlsPemSetting root_ca_certificate;
    TlsPemSetting listen_certificate;
    TlsPemSetting listen_private_key;
    TlsPemSetting connect_certificate;
    TlsPemSetting connect_private_key;
    bool enable_mtls = false;
    bool verify_name_on_connect = true;
    bool close_link_on_expiration = false;
    // Not a Zenoh key (programs set it): the keys of the dora cluster CA, handed over in memory.
    // root_ca_certificate is trusted alone (not also the system's CAs), and errors speak of the
    // cluster's certificates rather than of ZENOH_CONFIG keys the user never wrote.
    bool cluster_ca = false;
    friend bool operator==(const TlsKeys&, const TlsKeys&) = default;
};

inline constexpr const char* kTlsSection = "transport.link.tls";

// Reads the object `v` at transport.link.tls; errors name origin:line:column and the key.
[[nodiscard]] Result<> read_tls_keys(const Json5Value& v, std::string_view origin, TlsKeys& out);

// The keys of a holder of a certificate of a cluster CA (all PEM text in memory): listen and
// connect with it, mutual TLS, the peer's name verified, that CA trusted alone.
[[nodiscard]] TlsKeys cluster_tls_keys(std::string ca_pem, std::string certificate_pem,
                                       std::string key_pem);

// The settings of a tls/ listener, and of a tls/ connect, with the files read.
[[nodiscard]] Result<tls::TlsConfig> listen_tls_config(const TlsKeys& keys);
[[nodiscard]] Result<tls::TlsConfig> connect_tls_config(const TlsKeys& keys);

}  // namespace dora::zenoh
