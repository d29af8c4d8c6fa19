// TLS settings of one side of a connection (src/tls is the OpenSSL layer under the Zenoh tls/
// link, and later the control plane): which CAs to trust, which certificate and key to present,
// whether a server demands a client certificate (mutual TLS), whether a client checks the server's
// name. PEM text comes from files or from memory (a CA that hands certificates over in memory),
// and remembers where it came from, so that every error names the setting and file at fault.
//
// `Wording` names the settings the way the user wrote them ("transport.link.tls.enable_mtls" for
// Zenoh), so that errors say what to change in the user's own terms.
//
// Thread safety: values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::tls {

// PEM text and where it came from.
struct Pem {
    std::string text;
    // Names it in errors: "transport.link.tls.root_ca_certificate (/etc/dora/ca.pem)".
    std::string origin;
};

// Largest PEM file read (a certificate chain is a few KiB).
inline constexpr size_t kMaxPemBytes = size_t{1} << 20;

// Reads a PEM file; `setting` names the setting it was given by.
[[nodiscard]] Result<Pem> pem_from_file(std::string_view setting, const std::string& path);
// PEM text held in memory.
[[nodiscard]] Pem pem_from_string(std::string_view setting, std::string text);
// The base64 encoding of a PEM text (Zenoh's `*_base64` keys); whitespace is ignored.
[[nodiscard]] Result<Pem> pem_from_base64(std::string_view setting, std::string_view base64);

// How the settings and the two kinds of endpoint are called where the user sets them.
struct Wording {
    std::string root_ca = "the root CA";
    std::string listen_certificate = "the server certificate";
    std::string listen_private_key = "the server's private key";
    std::string connect_certificate = "the client certificate";
    std::string connect_private_key = "the client's private key";
    std::string mutual = "mutual TLS";
    std::string verify_name = "server name verification";
    // Advice to a peer that spoke plain TCP to a TLS port, and to a TLS client of a plain port.
    std::string tls_port = "a TLS port";
    std::string use_tls = "connect with TLS";
    std::string use_plain = "connect without TLS, or give the server a TLS listener";
};

struct TlsConfig {
    std::optional<Pem> root_ca;      // CA certificates that peers' certificates must chain to
    std::optional<Pem> certificate;  // own certificate, leaf first, then intermediates
    std::optional<Pem> private_key;  // its key: PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted
    // Server: a client must present a certificate signed by root_ca (required then).
    bool require_client_certificate = false;
    // Client: the server's certificate must name the host dialled (DNS or IP subjectAltName).
    bool verify_name = true;
    // Client: the system's CAs are trusted besides root_ca (as Zenoh trusts the WebPKI roots).
    bool system_roots = true;
    // Client: the server's certificate is checked at all. Off only where the session is
    // authenticated otherwise: the control plane's hello proves the cluster token over the
    // session's exported key (message/auth.hpp), so a server without the token fails there.
    bool verify_peer = true;
    // TLS 1.3 only; otherwise TLS 1.2 is accepted too (AEAD ciphers with ECDHE only).
    bool tls13_only = false;
    Wording wording;
};

}  // namespace dora::tls
