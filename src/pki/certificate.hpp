// Reading and checking issued certificates: what a certificate says (names, serial, validity,
// key usages), whether it chains to a CA (X509_verify_cert, optionally for a name and at a given
// time), and when it should be renewed.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::pki {

struct CertificateInfo {
    std::string common_name;                // the subject's CN
    std::vector<std::string> dns_names;     // subjectAltName dNSName entries
    std::vector<std::string> ip_addresses;  // subjectAltName iPAddress entries, as text
    std::string serial;                     // hex
    int64_t not_before = 0;                 // seconds since the Unix epoch
    int64_t not_after = 0;
    bool is_ca = false;        // basicConstraints CA:TRUE
    bool server_auth = false;  // extendedKeyUsage
    bool client_auth = false;
};

[[nodiscard]] Result<CertificateInfo> inspect_certificate(std::string_view cert_pem);

// Verifies that `cert_pem` was issued by the CA certificate `ca_pem` and is valid at `at` (Unix
// seconds; now when unset), for `name` when given (a DNS name or IP address in its
// subjectAltName). The error says why not, in OpenSSL's words.
[[nodiscard]] Result<> verify_certificate(std::string_view cert_pem, std::string_view ca_pem,
                                          std::optional<std::string_view> name = std::nullopt,
                                          std::optional<int64_t> at = std::nullopt);

// When a certificate valid from `not_before` to `not_after` should be renewed: once two thirds of
// its life have passed.
[[nodiscard]] int64_t renewal_time(int64_t not_before, int64_t not_after);
[[nodiscard]] bool needs_renewal(const CertificateInfo& info, int64_t now);

// Seconds since the Unix epoch, now.
[[nodiscard]] int64_t unix_now();

// "2026-12-30 20:03:39 UTC"
[[nodiscard]] std::string utc_text(int64_t unix_seconds);

}  // namespace dora::pki
