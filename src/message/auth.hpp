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

// The two proofs of the control-plane hello (control.hpp). Each side signs both nonces and the
// client's role under its own label, so a proof is good for one connection only (both sides chose
// a fresh nonce) and one side's proof can never be replayed as the other's.
// With a token the connection is TLS, and `binding` is the session's exported key
// (tls/control_tls.hpp): the proofs hold for this one TLS session, so a party in the middle that
// runs one session with each side cannot hand a proof across.
struct HelloNonces {
    std::string_view server;   // the coordinator's, from its Challenge
    std::string_view client;   // the client's, from its Hello
    std::string_view role;     // "daemon" | "cli"
    std::string_view binding;  // the TLS session's channel binding ("" on a plain connection)
};
[[nodiscard]] std::string client_proof(std::string_view token, const HelloNonces& nonces);
[[nodiscard]] std::string coordinator_proof(std::string_view token, const HelloNonces& nonces);

// True for a nonce as random_hex32 makes them (64 lowercase hex characters).
[[nodiscard]] bool is_nonce(std::string_view text);

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
