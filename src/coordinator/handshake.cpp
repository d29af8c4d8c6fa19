#include "coordinator/handshake.hpp"

#include "message/auth.hpp"

namespace dora::coordinator {

message::Challenge make_challenge(const HelloPolicy& policy) {
    message::Challenge challenge;
    challenge.dora_version = policy.dora_version;
    challenge.nonce = message::random_hex32();
    challenge.token_required = policy.token.has_value();
    challenge.tls = policy.token.has_value();
    return challenge;
}

Result<message::Hello> check_hello(const HelloPolicy& policy, const message::Challenge& challenge,
                                   const nlohmann::json& hello, bool loopback_peer,
                                   std::string_view binding) {
    if (hello.value("type", std::string()) != message::Hello::kType) {
        return fail("expected a hello ({}) as the first message, got `{}`", message::Hello::kType,
                    hello.value("type", std::string("?")));
    }
    auto parsed = message::parse_as<message::Hello>(hello);
    if (!parsed) {
        return fail(parsed.error());
    }
    if (parsed->protocol != message::kProtocolVersion) {
        return fail(
            "control protocol mismatch: this coordinator ({}) speaks protocol {}, the {} ({}) "
            "speaks protocol {}; run the same dora version everywhere",
            policy.dora_version, message::kProtocolVersion,
            parsed->role.empty() ? "peer" : parsed->role,
            parsed->dora_version.empty() ? "unknown version" : parsed->dora_version,
            parsed->protocol);
    }
    if (parsed->role != policy.expected_role) {
        if (parsed->role == "daemon") {
            return fail(
                "this is the coordinator's control port for CLIs; daemons connect to port {} "
                "(`dora daemon --coordinator-port {}`)",
                policy.daemon_port, policy.daemon_port);
        }
        if (parsed->role == "cli") {
            return fail(
                "this is the coordinator's port for daemons; the CLI connects to the control "
                "port {} (`--coordinator-port {}`)",
                policy.control_port, policy.control_port);
        }
        return fail("unknown role `{}` in the hello (expected `{}`)", parsed->role,
                    policy.expected_role);
    }
    if (policy.token) {
        if (parsed->proof.empty()) {
            return fail("this coordinator requires a cluster token and none was given: {}",
                        message::kTokenHelp);
        }
        if (!message::is_nonce(parsed->nonce)) {
            return fail(
                "the hello has no valid nonce (64 hex digits) for the coordinator to "
                "answer; is the peer a dora {} of a compatible version?",
                policy.expected_role);
        }
        if (binding.empty()) {
            return fail(
                "the hello came over plain TCP; this coordinator has a cluster token and takes "
                "hellos only over the TLS that follows its challenge: run the same dora version "
                "everywhere");
        }
        const auto expected = message::client_proof(
            *policy.token,
            message::HelloNonces{challenge.nonce, parsed->nonce, parsed->role, binding});
        if (!message::proofs_equal(parsed->proof, expected)) {
            return fail(
                "authentication failed: the cluster token does not match the "
                "coordinator's: {}",
                message::kTokenHelp);
        }
    } else if (!loopback_peer) {
        return fail(
            "this coordinator has no cluster token, so it accepts connections only from its own "
            "machine (protected mode); to connect from another machine, {}",
            message::kTokenHelp);
    }
    return parsed;
}

message::Welcome make_welcome(const HelloPolicy& policy, const message::Challenge& challenge,
                              const message::Hello& hello, std::string_view binding) {
    message::Welcome welcome;
    if (policy.token) {
        welcome.proof = message::coordinator_proof(
            *policy.token, message::HelloNonces{challenge.nonce, hello.nonce, hello.role, binding});
    }
    return welcome;
}

}  // namespace dora::coordinator
