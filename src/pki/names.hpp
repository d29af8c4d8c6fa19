// The names a cluster certificate may carry: a DNS name (RFC 5280 section 7.2 syntax with
// underscores allowed, as rustls/webpki accept: labels of letters, digits, `-` and `_`, 1 to 63
// characters, not starting or ending with `-`; at most 253 characters; no wildcard) or an IPv4 or
// IPv6 address. A certificate puts a DNS name in its subjectAltName as dNSName and an address as
// iPAddress: rustls (zenoh's `verify_name_on_connect`) matches only subjectAltName entries against
// the host of a `tls/host:port` locator, mbedtls and OpenSSL do too when the extension is there.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::pki {

enum class NameKind { kDns, kIp };

// What kind of name `name` is, or an error saying what is wrong with it and what is allowed.
[[nodiscard]] Result<NameKind> check_name(std::string_view name);

// `name` fit for a log line or message: bytes outside printable ASCII as \xNN, cut after 80
// characters ("...").
[[nodiscard]] std::string printable_name(std::string_view name);

}  // namespace dora::pki
