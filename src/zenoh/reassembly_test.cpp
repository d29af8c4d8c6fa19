#include "zenoh/reassembly.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace dora::zenoh {
namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<uint8_t>(seed + i * 7);
    }
    return v;
}

TEST(ReassemblyBufferTest, AppendsKeepEveryByteAcrossGrowth) {
    ReassemblyBuffer buf;
    std::vector<uint8_t> expected;
    for (uint8_t i = 0; i < 40; ++i) {
        auto part = pattern(65000 + i * 1000u, i);
        ASSERT_TRUE(buf.append(part));
        expected.insert(expected.end(), part.begin(), part.end());
    }
    ASSERT_EQ(buf.size(), expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buf.bytes().begin()));
}

TEST(ReassemblyBufferTest, ClearKeepsASmallBufferAndUnmapsALargeOne) {
    ReassemblyBuffer buf;
    ASSERT_TRUE(buf.append(pattern(100000, 1)));
    buf.clear(size_t{1} << 20);
    EXPECT_EQ(buf.size(), 0u);
    EXPECT_GE(buf.capacity(), 100000u) << "kept for the next message";
    ASSERT_TRUE(buf.append(pattern(size_t{3} << 20, 2)));
    buf.clear(size_t{1} << 20);
    EXPECT_EQ(buf.size(), 0u);
    EXPECT_EQ(buf.capacity(), 0u) << "a large buffer goes back to the system";
    ASSERT_TRUE(buf.append(pattern(10, 3)));
    EXPECT_EQ(buf.bytes()[9], static_cast<uint8_t>(3 + 9 * 7));
    buf.release();
    EXPECT_EQ(buf.capacity(), 0u);
}

}  // namespace
}  // namespace dora::zenoh
