// An OpenSSL context (SSL_CTX) for one role, made from a TlsConfig: TLS 1.3, or 1.2 and 1.3 with
// ECDHE and AEAD ciphers only; no compression, renegotiation or session tickets; the CA store
// and own certificate loaded and checked (a key that does not belong to its certificate, an
// encrypted key, a file without a certificate: each an error naming the setting and file).
//
// A server context presents its certificate and, with require_client_certificate, demands one
// from each client that chains to root_ca. A client context trusts root_ca (and the system's CAs
// unless system_roots is off) and presents its certificate if it has one.
//
// Thread safety: immutable once made; TlsStreams on any thread may share one context.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "tls/config.hpp"

namespace dora::tls {

class TlsContext {
  public:
    enum class Role { kServer, kClient };

    [[nodiscard]] static Result<std::shared_ptr<const TlsContext>> server(const TlsConfig& config);
    [[nodiscard]] static Result<std::shared_ptr<const TlsContext>> client(const TlsConfig& config);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    [[nodiscard]] Role role() const { return role_; }
    [[nodiscard]] SSL_CTX* native() const { return ctx_; }
    [[nodiscard]] const Wording& wording() const { return wording_; }
    [[nodiscard]] bool verify_name() const { return verify_name_; }
    [[nodiscard]] bool has_certificate() const { return !certificate_.empty(); }
    // For messages: "transport.link.tls.root_ca_certificate (/etc/ca.pem), CN=dora CA", or ""
    // when no root CA is configured.
    [[nodiscard]] const std::string& root_ca() const { return root_ca_; }
    // For messages: "transport.link.tls.listen_certificate (/etc/a.pem), CN=a, valid until ...",
    // or "" without a certificate.
    [[nodiscard]] const std::string& certificate() const { return certificate_; }
    // When the own certificate expires (std::nullopt without one).
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> certificate_not_after()
        const {
        return certificate_not_after_;
    }

  private:
    explicit TlsContext(Role role, SSL_CTX* ctx, const TlsConfig& config);
    // A context with the common settings, own certificate and (with_root_ca) the CA store.
    [[nodiscard]] static Result<std::shared_ptr<TlsContext>> make(Role role,
                                                                  const TlsConfig& config,
                                                                  bool with_root_ca);
    [[nodiscard]] Result<> load_root_ca(const Pem& pem, bool also_client_ca_list);
    [[nodiscard]] Result<> load_certificate(const Pem& certificate, const Pem& key);

    Role role_;
    SSL_CTX* ctx_;
    Wording wording_;
    bool verify_name_;
    std::string root_ca_;
    std::string certificate_;
    std::optional<std::chrono::system_clock::time_point> certificate_not_after_;
};

}  // namespace dora::tls
