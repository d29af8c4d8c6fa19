#include "message/control.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "message/auth.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/client_hello.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "testing/env.hpp"
#include "testing/temp_dir.hpp"

namespace dora::message {
namespace {

TEST(Control, FramesRoundTripAcrossArbitraryChunks) {
    CliStart start;
    start.descriptor_yaml = "nodes: []\n";
    start.name = "flow";
    std::string bytes = encode_frame(make(start)) + encode_frame(make(CliList{}));
    FrameReader reader;
    std::vector<nlohmann::json> got;
    for (char c : bytes) {  // one byte at a time: the worst case for a reader
        reader.feed(std::string_view(&c, 1));
        for (;;) {
            auto m = reader.next();
            ASSERT_TRUE(m) << m.error().message();
            if (!*m) break;
            got.push_back(**m);
        }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0]["type"], CliStart::kType);
    auto parsed = parse_as<CliStart>(got[0]);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->name, "flow");
    EXPECT_EQ(got[1]["type"], CliList::kType);
}

TEST(Control, SeveralFramesInOneReadAllDecode) {
    // A large frame followed by small ones: taking the first compacts the buffer.
    CliStart big;
    big.descriptor_yaml = std::string(300, 'x');
    FrameReader reader;
    reader.feed(encode_frame(make(big)) + encode_frame(make(CliList{})) +
                encode_frame(make(CliList{})));
    for (int i = 0; i < 3; ++i) {
        auto m = reader.next();
        ASSERT_TRUE(m) << i << ": " << m.error().message();
        ASSERT_TRUE(*m) << i;
    }
}

TEST(Control, OversizedLengthIsRefusedBeforeBuffering) {
    FrameReader reader;
    reader.feed(std::string("\xff\xff\xff\x7f", 4));
    auto m = reader.next();
    ASSERT_FALSE(m);
    // The receiver names the size announced and the limit.
    EXPECT_NE(m.error().message().find("2147483647 bytes"), std::string::npos)
        << m.error().message();
    EXPECT_NE(m.error().message().find("at most 16 MiB"), std::string::npos);
}

TEST(Control, AMessageOverTheLimitIsRefusedAtTheSenderNamingTypeSizeAndLimit) {
    CliStart start;
    start.descriptor_yaml = std::string(kMaxFrameSize, 'x');
    auto frame = encode_frame_checked(make(start));
    ASSERT_FALSE(frame);
    EXPECT_EQ(frame.error().code(), kFrameTooLarge);
    const std::string& text = frame.error().message();
    EXPECT_NE(text.find(CliStart::kType), std::string::npos) << text;
    EXPECT_NE(text.find("(16.0 MiB)"), std::string::npos) << text;
    EXPECT_NE(text.find("at most 16 MiB (16777216 bytes) per message"), std::string::npos);

    start.descriptor_yaml.resize(kMaxFrameSize - 1024);  // just under: sent
    EXPECT_TRUE(encode_frame_checked(make(start)));
}

TEST(Control, BodyThatIsNotATypedObjectIsRefused) {
    for (std::string body : {"not json", "[1,2]", "{\"x\":1}", "{\"type\":3}"}) {
        FrameReader reader;
        std::string frame = encode_frame(nlohmann::json::object());
        frame.resize(4);
        auto n = static_cast<uint32_t>(body.size());
        std::memcpy(frame.data(), &n, 4);
        reader.feed(frame + body);
        EXPECT_FALSE(reader.next()) << body;
    }
}

TEST(Control, MissingFieldsGetDefaultsAndWrongTypesAnError) {
    auto ok = parse_as<StopDataflow>(nlohmann::json{{"type", "coordinator.stop"}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->grace_ms, 15000);
    auto bad =
        parse_as<StopDataflow>(nlohmann::json{{"type", "coordinator.stop"}, {"grace_ms", "x"}});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("coordinator.stop"), std::string::npos);
}

TEST(Auth, HmacMatchesRfc4231TestCase2) {
    EXPECT_EQ(hmac_proof("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, NoncesAreFreshAndProofsCompare) {
    auto a = random_hex32();
    auto b = random_hex32();
    EXPECT_EQ(a.size(), 64u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(proofs_equal(hmac_proof("t", a), hmac_proof("t", a)));
    EXPECT_FALSE(proofs_equal(hmac_proof("t", a), hmac_proof("u", a)));
}

TEST(Auth, TokenComesFromFileThenEnvironment) {
    dora::testing::TempDir dir("dora-auth-test");
    auto token = dir.write("token", "abc123\n");
    dora::testing::ScopedEnv env("DORA_TOKEN", "fromenv");
    auto from_file = load_token(token);
    ASSERT_TRUE(from_file);
    EXPECT_EQ(from_file->value(), "abc123");
    auto from_env = load_token(std::nullopt);
    ASSERT_TRUE(from_env);
    EXPECT_EQ(from_env->value(), "fromenv");
    EXPECT_FALSE(load_token(dir.write("empty", "")));
    EXPECT_FALSE(load_token(dir / "missing"));
}

const Versions kVersions{"coordinator", "dora-cpp 0.1.0", "the daemon of machine `edge1`",
                         "dora-cpp 0.2.0"};

TEST(Control, DecodePicksTheStructOfTheMessageType) {
    CliStop stop;
    stop.name = "flow";
    stop.grace_ms = 2500;
    auto decoded = decode<CliRequest>(make(CliRequest(stop)), kVersions);
    ASSERT_TRUE(decoded) << decoded.error().message();
    ASSERT_TRUE(std::holds_alternative<CliStop>(*decoded));
    EXPECT_EQ(std::get<CliStop>(*decoded).name, "flow");
    EXPECT_EQ(std::get<CliStop>(*decoded).grace_ms, 2500);
}

TEST(Control, AnUnknownMessageTypeIsAProtocolErrorNamingBothVersions) {
    auto decoded = decode<DaemonToCoordinator>(with_type("daemon.teleport", {}), kVersions);
    ASSERT_FALSE(decoded);
    const auto& text = decoded.error().message();
    EXPECT_NE(text.find("daemon.teleport"), std::string::npos) << text;
    EXPECT_NE(text.find("dora-cpp 0.1.0"), std::string::npos) << text;
    EXPECT_NE(text.find("dora-cpp 0.2.0"), std::string::npos) << text;
    EXPECT_NE(text.find("edge1"), std::string::npos) << text;
}

TEST(Control, FileTransferMessagesRoundTripInEveryDirection) {
    auto chunk = decode<CliRequest>(
        make(CliFileChunk{"flow-1", std::string(64, 'a'), 1024, "ZG9y"}), kVersions);
    ASSERT_TRUE(chunk) << chunk.error().message();
    EXPECT_EQ(std::get<CliFileChunk>(*chunk).offset, 1024u);
    auto relayed = decode<CoordinatorToDaemon>(
        make(FileChunk{"flow-1", std::string(64, 'b'), 0, "ZG9yYQ=="}), kVersions);
    ASSERT_TRUE(relayed) << relayed.error().message();
    EXPECT_EQ(std::get<FileChunk>(*relayed).data, "ZG9yYQ==");
    auto needed = decode<DaemonToCoordinator>(
        make(FilesNeeded{"flow-1", {std::string(64, 'c')}, false}), kVersions);
    ASSERT_TRUE(needed) << needed.error().message();
    EXPECT_EQ(std::get<FilesNeeded>(*needed).missing.size(), 1u);
    auto stored = decode<DaemonToCoordinator>(
        make(FileChunkStored{"flow-1", std::string(64, 'c'), 0, "disk full"}), kVersions);
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(std::get<FileChunkStored>(*stored).error, "disk full");
    auto send =
        decode<CoordinatorToCli>(make(SendFiles{"flow-1", {"x"}, {"edge"}, {"cloud"}}), kVersions);
    ASSERT_TRUE(send) << send.error().message();
    EXPECT_EQ(std::get<SendFiles>(*send).local_machines, std::vector<std::string>{"cloud"});
    auto ack = decode<CoordinatorToCli>(make(FileChunkAck{"flow-1", "x", 7, ""}), kVersions);
    ASSERT_TRUE(ack) << ack.error().message();
    EXPECT_EQ(std::get<FileChunkAck>(*ack).offset, 7u);
}

TEST(Control, AStartWithoutFilesDecodesAsOneThatShipsNothing) {
    auto start = decode<CliRequest>(
        with_type(CliStart::kType, {{"descriptor_yaml", "nodes: []\n"}, {"attach", false}}),
        kVersions);
    ASSERT_TRUE(start) << start.error().message();
    EXPECT_TRUE(std::get<CliStart>(*start).files.is_null());
}

TEST(Control, AFullFileChunkFitsInOneFrame) {
    CliFileChunk chunk{"0190c3a0-0000-7000-8000-000000000000", std::string(64, 'a'),
                       uint64_t{1} << 40, std::string((kFileChunkBytes + 2) / 3 * 4, 'A')};
    EXPECT_TRUE(encode_frame_checked(make(chunk)));
    FileChunk relayed{chunk.transfer, chunk.sha256, chunk.offset, chunk.data};
    EXPECT_TRUE(encode_frame_checked(make(relayed)));
}

TEST(Control, AMalformedKnownMessageNamesItsType) {
    auto decoded = decode<CoordinatorToDaemon>(
        with_type(StopDataflow::kType, {{"grace_ms", "soon"}}), kVersions);
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().message().find(StopDataflow::kType), std::string::npos)
        << decoded.error().message();
}

Challenge challenge_with(bool token_required, int protocol = kProtocolVersion) {
    Challenge c;
    c.protocol = protocol;
    c.dora_version = "dora-cpp 9.9.9";
    c.nonce = random_hex32();
    c.token_required = token_required;
    c.tls = token_required;  // as a coordinator with a token always does
    return c;
}

const std::string kBinding(64, 'b');  // a TLS session's channel binding

TEST(ClientHello, ProvesTheTokenOverBothNoncesAndTheSession) {
    auto c = challenge_with(true);
    auto sent = answer_challenge(make(c), "daemon", "dora-cpp 0.1.0", std::string("secret"));
    ASSERT_TRUE(sent) << sent.error().message();
    EXPECT_TRUE(sent->tls);
    EXPECT_TRUE(sent->hello.proof.empty());  // signed once the TLS session is up
    sign_hello(*sent, std::string("secret"), kBinding);
    EXPECT_EQ(sent->hello.role, "daemon");
    EXPECT_TRUE(is_nonce(sent->hello.nonce));
    EXPECT_NE(sent->hello.nonce, c.nonce);
    EXPECT_TRUE(proofs_equal(sent->hello.proof, client_proof("secret", {c.nonce, sent->hello.nonce,
                                                                        "daemon", kBinding})));
    EXPECT_EQ(sent->coordinator_version, "dora-cpp 9.9.9");
}

TEST(ClientHello, AClientWithATokenRefusesACoordinatorThatDoesNotStartTls) {
    // A fake coordinator (or one in the middle that removed `tls`) cannot keep the link plain.
    auto c = challenge_with(true);
    c.tls = false;
    auto sent = answer_challenge(make(c), "daemon", "v", std::string("secret"));
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().message().find("does not start TLS"), std::string::npos)
        << sent.error().message();
}

TEST(ClientHello, TheTwoSidesProofsDifferAndDependOnEveryInput) {
    const auto s = random_hex32();
    const auto c = random_hex32();
    const auto proof = client_proof("t", {s, c, "cli", kBinding});
    EXPECT_NE(proof, coordinator_proof("t", {s, c, "cli", kBinding}));
    EXPECT_NE(proof, client_proof("u", {s, c, "cli", kBinding}));
    EXPECT_NE(proof, client_proof("t", {c, s, "cli", kBinding}));
    EXPECT_NE(proof, client_proof("t", {s, c, "daemon", kBinding}));
    // Another TLS session (a party in the middle runs one with each side): another proof.
    EXPECT_NE(proof, client_proof("t", {s, c, "cli", std::string(64, 'c')}));
    EXPECT_NE(proof, client_proof("t", {s, c, "cli", ""}));
    EXPECT_EQ(proof, client_proof("t", {s, c, "cli", kBinding}));
}

TEST(ClientHello, AWelcomeIsAcceptedOnlyWithTheCoordinatorsProof) {
    auto c = challenge_with(true);
    auto sent = answer_challenge(make(c), "daemon", "v", std::string("secret")).value();
    sign_hello(sent, std::string("secret"), kBinding);
    Welcome good{coordinator_proof("secret", {c.nonce, sent.hello.nonce, "daemon", kBinding})};
    EXPECT_TRUE(check_welcome(make(good), sent, std::string("secret")));

    for (const auto& bad :
         {Welcome{}, Welcome{sent.hello.proof},  // none; the client's own proof reflected
          Welcome{coordinator_proof("other", {c.nonce, sent.hello.nonce, "daemon", kBinding})},
          Welcome{
              coordinator_proof("secret", {random_hex32(), sent.hello.nonce, "daemon", kBinding})},
          // Proven over another TLS session: relayed by a party in the middle.
          Welcome{coordinator_proof(
              "secret", {c.nonce, sent.hello.nonce, "daemon", std::string(64, 'c')})}}) {
        auto checked = check_welcome(make(bad), sent, std::string("secret"));
        ASSERT_FALSE(checked) << bad.proof;
        EXPECT_NE(checked.error().message().find("did not prove the cluster token"),
                  std::string::npos)
            << checked.error().message();
    }
    auto refused = check_welcome(make(ErrorMessage{"busy"}), sent, std::string("secret"));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("busy"), std::string::npos);
    EXPECT_FALSE(check_welcome(make(challenge_with(true)), sent, std::string("secret")));
}

TEST(ClientHello, WithoutATokenAnyWelcomeIsAccepted) {
    auto c = challenge_with(false);
    auto sent = answer_challenge(make(c), "cli", "v", std::nullopt).value();
    EXPECT_FALSE(sent.tls);
    sign_hello(sent, std::nullopt, "");
    EXPECT_TRUE(sent.hello.proof.empty());
    EXPECT_TRUE(check_welcome(make(Welcome{}), sent, std::nullopt));
}

TEST(ClientHello, AClientWithATokenRefusesACoordinatorWithout) {
    // A coordinator that asks for no token cannot prove it belongs to this client's cluster.
    auto sent = answer_challenge(make(challenge_with(false)), "daemon", "v", std::string("s"));
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().message().find("runs without one"), std::string::npos)
        << sent.error().message();
}

TEST(ClientHello, ARequiredTokenThatIsMissingSaysHowToSetOne) {
    auto hello = answer_challenge(make(challenge_with(true)), "daemon", "v", std::nullopt);
    ASSERT_FALSE(hello);
    EXPECT_NE(hello.error().message().find("--token-file"), std::string::npos);
}

TEST(ClientHello, AProtocolMismatchNamesBothVersions) {
    auto hello = answer_challenge(make(challenge_with(false, kProtocolVersion + 1)), "cli",
                                  "dora-cpp 0.1.0", std::nullopt);
    ASSERT_FALSE(hello);
    EXPECT_NE(hello.error().message().find("dora-cpp 9.9.9"), std::string::npos);
    EXPECT_NE(hello.error().message().find("dora-cpp 0.1.0"), std::string::npos);
}

TEST(ClientHello, ARefusalCarriesTheCoordinatorsReason) {
    auto hello = answer_challenge(make(ErrorMessage{"machine `x` is already connected"}), "daemon",
                                  "v", std::nullopt);
    ASSERT_FALSE(hello);
    EXPECT_NE(hello.error().message().find("machine `x` is already connected"), std::string::npos);
}

}  // namespace
}  // namespace dora::message
