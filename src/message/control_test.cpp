#include "message/control.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "message/auth.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_daemon.hpp"
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
    EXPECT_NE(m.error().message().find("more than the limit"), std::string::npos);
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

}  // namespace
}  // namespace dora::message
