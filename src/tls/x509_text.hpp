// Certificates and OpenSSL errors as text for messages (internal to src/tls): subjects, the
// names a certificate is valid for, validity dates, and OpenSSL's error queue.
//
// Thread safety: pure functions (the error queue read is the calling thread's own).
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace dora::tls::detail {

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// "CN=node-1,O=dora" (RFC 2253 order).
[[nodiscard]] std::string subject_of(const X509* cert);
[[nodiscard]] std::string issuer_of(const X509* cert);
// "2026-12-31 23:59:59 UTC".
[[nodiscard]] std::string not_after_of(const X509* cert);
[[nodiscard]] std::string not_before_of(const X509* cert);
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> not_after_time(const X509* cert);
// The names the certificate is valid for: "DNS:a.example, IP:10.0.0.1", or "no subjectAltName
// names at all" when it has none.
[[nodiscard]] std::string names_of(const X509* cert);
// Empties this thread's OpenSSL error queue into one line ("a; b"), "" when it was empty.
[[nodiscard]] std::string drain_openssl_errors();

}  // namespace dora::tls::detail
