// The cluster certificate authority: a self-signed ECDSA P-256 CA certificate (CA:TRUE,
// keyUsage keyCertSign + cRLSign) and what it issues from a signing request. An issued
// certificate has subject CN = the requested name, subjectAltName = that name and any extra
// names (dNSName, or iPAddress for an address: rustls, mbedtls and OpenSSL verify by them),
// extendedKeyUsage serverAuth + clientAuth (every dora process is a TLS client and server),
// keyUsage digitalSignature, a random 127-bit serial, and a validity that starts 5 minutes ago
// (clock skew) and never outlasts the CA. The CSR's own signature must verify, its key must be
// ECDSA P-256, and its CN (when it has one) must be the requested name.
//
// Keeping the CA on disk is ca_store.hpp's job; this is the CA in memory.
//
// Thread safety: a CertificateAuthority is immutable after creation; issue() may be called from
// several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::pki {

struct CaOptions {
    std::string common_name = "dora cluster CA";
    int days = 3650;
};

inline constexpr int kDefaultCertificateDays = 30;
inline constexpr int kMaxCertificateDays = 3650;
inline constexpr size_t kMaxAltNames = 16;
// A CSR larger than this is refused unread (a P-256 CSR is about 400 bytes of PEM).
inline constexpr size_t kMaxCsrBytes = 16 * 1024;

struct IssueRequest {
    std::string csr_pem;
    std::string name;                    // subject CN and first subjectAltName
    std::vector<std::string> alt_names;  // more subjectAltNames (DNS names or addresses)
    int days = kDefaultCertificateDays;  // 1 .. kMaxCertificateDays
};

struct Issued {
    std::string certificate_pem;
    std::string serial;     // hex
    int64_t not_after = 0;  // Unix seconds
};

class CertificateAuthority {
  public:
    // A new CA with a new key.
    [[nodiscard]] static Result<CertificateAuthority> create(const CaOptions& options);
    // A CA from its stored key and certificate; refused when they do not belong together, the
    // certificate is not a CA's, or it has expired.
    [[nodiscard]] static Result<CertificateAuthority> load(std::string_view key_pem,
                                                           std::string_view cert_pem);
    CertificateAuthority(CertificateAuthority&&) noexcept;
    CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
    ~CertificateAuthority();

    [[nodiscard]] Result<Issued> issue(const IssueRequest& request) const;

    [[nodiscard]] const std::string& certificate_pem() const;
    [[nodiscard]] Result<std::string> key_pem() const;
    [[nodiscard]] int64_t not_after() const;

  private:
    struct State;
    explicit CertificateAuthority(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace dora::pki
