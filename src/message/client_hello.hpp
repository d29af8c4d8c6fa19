// The client side of the control-plane hello (control.hpp), shared by the daemon and the CLI:
// the Hello that answers a coordinator's Challenge (or why this client cannot answer it), then the
// check of the coordinator's Welcome: with a cluster token, the coordinator must prove it knows the
// token over this client's nonce before the client acts on anything it sends.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "message/control.hpp"

namespace dora::message {

// What the client sent, kept to check the Welcome against.
struct ClientHello {
    Hello hello;
    std::string server_nonce;
    std::string coordinator_version;  // from the Challenge ("" if it gave none)
    bool tls = false;                 // the coordinator starts TLS: do the handshake, then sign
    std::string binding;              // the TLS session's channel binding, once signed
};

// Answers `first`, the first message a coordinator sent; the Hello is unsigned until
// sign_hello() (with TLS, after the handshake: the proof covers the session). Errors: the
// coordinator refused at once (its ErrorMessage, with its reason), the first message is not a
// challenge, the control protocols differ (naming both versions), the coordinator requires a token
// this client does not have, or this client has a token and the coordinator runs without one (it
// could not prove it belongs to this client's cluster) or does not start TLS; each says what to do.
[[nodiscard]] Result<ClientHello> answer_challenge(const nlohmann::json& first,
                                                   std::string_view role,
                                                   std::string_view dora_version,
                                                   const std::optional<std::string>& token);

// Adds the proof of `token` (none without one) over the nonces and `binding` (the TLS session's
// channel binding; "" on a plain connection).
void sign_hello(ClientHello& sent, const std::optional<std::string>& token, std::string binding);

// Checks the coordinator's answer to `sent`: a Welcome whose proof shows that the coordinator
// knows `token` (any Welcome when neither side has a token). Errors: a refusal (with the
// coordinator's reason), something else than a Welcome, or a proof that does not check.
[[nodiscard]] Result<> check_welcome(const nlohmann::json& reply, const ClientHello& sent,
                                     const std::optional<std::string>& token);

// What the coordinator said when it refused a client after its hello, ready to show the user.
[[nodiscard]] std::string refusal_text(const nlohmann::json& message);

}  // namespace dora::message
