// The requester's side of a cluster certificate: a new private key (ECDSA P-256, PKCS#8 PEM) that
// never leaves the process that made it, and a certificate signing request (CSR) for a name,
// signed with that key, which is what travels to the coordinator.
//
// Thread safety: pure functions (OpenSSL 3 is thread-safe for these calls).
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::pki {

// A new ECDSA P-256 private key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
[[nodiscard]] Result<std::string> generate_key();

// A PEM CSR for `name` (its subject CN; check_name() must accept it), signed with `key_pem`.
[[nodiscard]] Result<std::string> make_csr(std::string_view key_pem, std::string_view name);

// Whether the certificate `cert_pem` certifies the public half of `key_pem`.
[[nodiscard]] Result<bool> key_matches_certificate(std::string_view key_pem,
                                                   std::string_view cert_pem);

}  // namespace dora::pki
