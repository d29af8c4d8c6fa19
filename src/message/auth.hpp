// Cluster authentication: a shared token (32 random bytes, hex) proves itself with
// HMAC-SHA256 over a server nonce, so the token never crosses the wire. Where a token comes from:
// `--token-file FILE`, else $DORA_TOKEN, else $XDG_CONFIG_HOME/dora/token (~/.config/dora/token).
//
// Thread safety: pure functions (OpenSSL's HMAC and RAND are thread-safe).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace dora::message {

// 32 random bytes as 64 hex characters (a nonce or a new token).
[[nodiscard]] std::string random_hex32();

// HMAC-SHA256(token, nonce) as hex.
[[nodiscard]] std::string hmac_proof(std::string_view token, std::string_view nonce);

// Constant-time comparison of two proofs.
[[nodiscard]] bool proofs_equal(std::string_view a, std::string_view b);

// The token from `token_file` if given, else DORA_TOKEN, else the config dir's `token` file;
// std::nullopt when none is configured. A file that cannot be read or is empty is an error.
[[nodiscard]] Result<std::optional<std::string>> load_token(
    const std::optional<std::filesystem::path>& token_file);

// What a peer without the right token is told.
inline constexpr const char* kTokenHelp =
    "give every dora process the same cluster token: `dora coordinator --token-file FILE`, "
    "`dora daemon --token-file FILE` and `dora <verb> --token-file FILE`, or DORA_TOKEN=<hex> in "
    "their environment (create one with `openssl rand -hex 32 > FILE`)";

}  // namespace dora::message
