#include "message/client_hello.hpp"

#include "message/auth.hpp"

namespace dora::message {

std::string refusal_text(const nlohmann::json& message) {
    std::string reason = message.value("message", std::string());
    return reason.empty() ? std::string("the coordinator refused the connection without a reason")
                          : "the coordinator refused the connection: " + reason;
}

Result<Hello> answer_challenge(const nlohmann::json& first, std::string_view role,
                               std::string_view dora_version,
                               const std::optional<std::string>& token) {
    const std::string type = first.value("type", std::string());
    if (type == ErrorMessage::kType) {
        return fail("{}", refusal_text(first));
    }
    if (type != Challenge::kType) {
        return fail(
            "the first message from the coordinator is `{}`, not a hello challenge: is this "
            "address a dora coordinator of a compatible version?",
            type);
    }
    auto challenge = parse_as<Challenge>(first);
    if (!challenge) {
        return fail(challenge.error());
    }
    if (challenge->protocol != kProtocolVersion) {
        return fail(
            "control protocol mismatch: the coordinator ({}) speaks protocol {}, this {} ({}) "
            "speaks protocol {}; run the same dora version everywhere",
            challenge->dora_version.empty() ? "unknown version" : challenge->dora_version,
            challenge->protocol, role, dora_version, kProtocolVersion);
    }
    if (challenge->token_required && !token) {
        return fail("the coordinator requires a cluster token and this {} has none: {}", role,
                    kTokenHelp);
    }
    Hello hello;
    hello.dora_version = std::string(dora_version);
    hello.role = std::string(role);
    if (token) {
        hello.proof = hmac_proof(*token, challenge->nonce);
    }
    return hello;
}

}  // namespace dora::message
