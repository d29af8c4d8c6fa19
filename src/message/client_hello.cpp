#include "message/client_hello.hpp"

#include "core/log_text.hpp"
#include "message/auth.hpp"

namespace dora::message {

std::string refusal_text(const nlohmann::json& message) {
    // Escaped: a coordinator that has not proven the token yet may be anyone.
    std::string reason = escape_for_log(message.value("message", std::string()));
    return reason.empty() ? std::string("the coordinator refused the connection without a reason")
                          : "the coordinator refused the connection: " + reason;
}

Result<ClientHello> answer_challenge(const nlohmann::json& first, std::string_view role,
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
            escape_for_log(type));
    }
    auto challenge = parse_as<Challenge>(first);
    if (!challenge) {
        return fail(challenge.error());
    }
    if (challenge->protocol != kProtocolVersion) {
        return fail(
            "control protocol mismatch: the coordinator ({}) speaks protocol {}, this {} ({}) "
            "speaks protocol {}; run the same dora version everywhere",
            challenge->dora_version.empty() ? "unknown version"
                                            : escape_for_log(challenge->dora_version),
            challenge->protocol, role, dora_version, kProtocolVersion);
    }
    if (challenge->token_required && !token) {
        return fail("the coordinator requires a cluster token and this {} has none: {}", role,
                    kTokenHelp);
    }
    if (!challenge->token_required && token) {
        return fail(
            "this {} has a cluster token but the coordinator runs without one, so it cannot prove "
            "that it is this cluster's coordinator; nothing it sends is acted on. Give the "
            "coordinator the same token (`dora coordinator --token-file FILE` or DORA_TOKEN), "
            "or, for a one-machine set-up without a token, remove the token from this {} "
            "(--token-file, DORA_TOKEN, ~/.config/dora/token)",
            role, role);
    }
    if (token && !challenge->tls) {
        return fail(
            "the coordinator does not start TLS after its challenge, as every dora coordinator "
            "with a cluster token does: it is not a dora coordinator of this version, or "
            "something between us removed it; nothing it sends is acted on. Check the address "
            "and run the same dora version everywhere");
    }
    if (!is_nonce(challenge->nonce)) {
        return fail("the coordinator's challenge has a malformed nonce (expected 64 hex digits)");
    }
    ClientHello sent;
    sent.server_nonce = challenge->nonce;
    sent.coordinator_version = challenge->dora_version;
    sent.hello.dora_version = std::string(dora_version);
    sent.hello.role = std::string(role);
    sent.hello.nonce = random_hex32();
    sent.tls = challenge->tls;
    return sent;
}

void sign_hello(ClientHello& sent, const std::optional<std::string>& token, std::string binding) {
    sent.binding = std::move(binding);
    if (token) {
        sent.hello.proof = client_proof(*token, HelloNonces{sent.server_nonce, sent.hello.nonce,
                                                            sent.hello.role, sent.binding});
    }
}

Result<> check_welcome(const nlohmann::json& reply, const ClientHello& sent,
                       const std::optional<std::string>& token) {
    const std::string type = reply.value("type", std::string());
    if (type == ErrorMessage::kType) {
        return fail("{}", refusal_text(reply));
    }
    if (type != Welcome::kType) {
        return fail("unexpected `{}` in answer to the hello (expected {})", type, Welcome::kType);
    }
    auto welcome = parse_as<Welcome>(reply);
    if (!welcome) {
        return fail(welcome.error());
    }
    if (!token) {
        return {};
    }
    const std::string expected = coordinator_proof(
        *token, HelloNonces{sent.server_nonce, sent.hello.nonce, sent.hello.role, sent.binding});
    if (!proofs_equal(welcome->proof, expected)) {
        return fail(
            "the coordinator did not prove the cluster token ({}): it is not this cluster's "
            "coordinator, or its token differs from this {}'s; nothing it sent was acted on. "
            "Check the address and give both the same token ({})",
            welcome->proof.empty() ? "no proof in its welcome" : "a wrong proof", sent.hello.role,
            kTokenHelp);
    }
    return {};
}

}  // namespace dora::message
