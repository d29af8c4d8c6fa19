// The client side of the control-plane hello (control.hpp), shared by the daemon and the CLI:
// the Hello that answers a coordinator's Challenge, or why this client cannot answer it.
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

// Answers `first`, the first message a coordinator sent. Errors: the coordinator refused at once
// (its ErrorMessage, with its reason), the first message is not a challenge, the control protocols
// differ (naming both versions), or the coordinator requires a token this client does not have
// (saying how to configure one).
[[nodiscard]] Result<Hello> answer_challenge(const nlohmann::json& first, std::string_view role,
                                             std::string_view dora_version,
                                             const std::optional<std::string>& token);

// What the coordinator said when it refused a client after its hello, ready to show the user.
[[nodiscard]] std::string refusal_text(const nlohmann::json& message);

}  // namespace dora::message
