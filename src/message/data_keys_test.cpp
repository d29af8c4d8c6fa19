// The ends of output streams: signed by the producer's daemon, verified with its public key only.
#include "message/data_keys.hpp"

#include <gtest/gtest.h>

namespace dora::message {
namespace {

const std::string kKey = "dora/default/0190aaaa-bbbb-7ccc-8ddd-000000000001/output/source/out";

StreamEndSigner signer() { return StreamEndSigner::generate().value(); }

TEST(StreamEnd, TheProducersDaemonsEndVerifiesWithItsPublicKey) {
    const auto producer = signer();
    ASSERT_EQ(producer.public_key().size(), 64u);
    const auto end = producer.end_of_stream(kKey);
    ASSERT_EQ(end.size(), kEndOfStreamSize);
    EXPECT_EQ(end[0], kEndOfStreamMarker);
    EXPECT_TRUE(looks_like_end_of_stream(end));
    auto verifier = StreamEndVerifier::from_public_key(producer.public_key());
    ASSERT_TRUE(verifier) << verifier.error().message();
    EXPECT_TRUE(verifier->verify(kKey, end));
    // Ed25519 is deterministic: the egress signs each end once, when it starts.
    EXPECT_EQ(producer.end_of_stream(kKey), end);
}

TEST(StreamEnd, AnotherDaemonsEndAnotherStreamsEndAndAlteredBytesDoNotVerify) {
    const auto producer = signer();
    const auto verifier = StreamEndVerifier::from_public_key(producer.public_key()).value();
    // Another daemon of the cluster signs the same key: not the producer's.
    EXPECT_FALSE(verifier.verify(kKey, signer().end_of_stream(kKey)));
    // The producer's end of another stream (another output, another dataflow).
    EXPECT_FALSE(verifier.verify(kKey, producer.end_of_stream(kKey + "2")));
    EXPECT_FALSE(verifier.verify(kKey + "2", producer.end_of_stream(kKey)));
    auto end = producer.end_of_stream(kKey);
    for (size_t i : {size_t{1}, size_t{32}, kEndOfStreamSize - 1}) {
        auto altered = end;
        altered[i] ^= 1;
        EXPECT_FALSE(verifier.verify(kKey, altered)) << "byte " << i;
    }
    auto unmarked = end;
    unmarked[0] = 1;
    EXPECT_FALSE(verifier.verify(kKey, unmarked));
    EXPECT_FALSE(verifier.verify(kKey, std::span(end).first(kEndOfStreamSize - 1)));
    EXPECT_FALSE(verifier.verify(kKey, {}));
    std::vector<uint8_t> zeros(kEndOfStreamSize, 0);
    zeros[0] = kEndOfStreamMarker;
    EXPECT_FALSE(verifier.verify(kKey, zeros));
    // A default verifier (no key) accepts nothing.
    EXPECT_FALSE(StreamEndVerifier().verify(kKey, end));
}

TEST(StreamEnd, APublicKeyThatIsNotOneIsRefusedSayingWhatOneIs) {
    for (const std::string& bad : {std::string(), std::string(63, 'a'), std::string(64, 'g'),
                                   std::string(64, 'A'), std::string(66, 'a')}) {
        auto verifier = StreamEndVerifier::from_public_key(bad);
        ASSERT_FALSE(verifier) << bad;
        EXPECT_NE(verifier.error().message().find("64 lowercase hex characters"), std::string::npos)
            << verifier.error().message();
    }
}

TEST(StreamEnd, EachDaemonMakesItsOwnKeyPair) {
    EXPECT_NE(signer().public_key(), signer().public_key());
}

}  // namespace
}  // namespace dora::message
