#include "zenoh/copy_gaps.hpp"

#include <gtest/gtest.h>

namespace dora::zenoh {
namespace {

EntityId copy(const Zid& zid, uint64_t eid, uint64_t sn) { return EntityId{zid, eid, sn}; }

TEST(CopyGapsTest, CountsWhatIsMissingBetweenArrivals) {
    CopyGaps gaps;
    Zid a = Zid::random();
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 1)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 2)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 6)), 3u) << "3, 4 and 5 never arrived";
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 7)), 0u);
}

TEST(CopyGapsTest, PeerNumberingCountsCopiesLostBeforeTheFirstArrival) {
    CopyGaps gaps;
    EXPECT_EQ(gaps.observe(copy(Zid::random(), kCopiesFromOne, 5)), 4u);
}

TEST(CopyGapsTest, RouterNumberingStartsCountingAtTheFirstArrival) {
    CopyGaps gaps;
    Zid a = Zid::random();
    EXPECT_EQ(gaps.observe(copy(a, kCopiesNumbered, 1000)), 0u) << "joined later: unknown";
    EXPECT_EQ(gaps.observe(copy(a, kCopiesNumbered, 1003)), 2u);
}

TEST(CopyGapsTest, EachSenderHasItsOwnNumbering) {
    CopyGaps gaps;
    Zid a = Zid::random();
    Zid b = Zid::random();  // the producer's daemon restarted: a new session
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 1)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 2)), 0u);
    EXPECT_EQ(gaps.observe(copy(b, kCopiesFromOne, 1)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 4)), 1u);
    EXPECT_EQ(gaps.observe(copy(b, kCopiesFromOne, 2)), 0u);
}

TEST(CopyGapsTest, UnnumberedRepeatedOrForeignPutsCountNothing) {
    CopyGaps gaps;
    Zid a = Zid::random();
    EXPECT_EQ(gaps.observe(std::nullopt), 0u);
    EXPECT_EQ(gaps.observe(EntityId{a, kCopiesFromOne, std::nullopt}), 0u);
    EXPECT_EQ(gaps.observe(copy(a, 1, 50)), 0u) << "another publisher's entity id";
    EXPECT_EQ(gaps.observe(copy(a, 77, 60)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 3)), 2u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 3)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 2)), 0u);
    EXPECT_EQ(gaps.observe(copy(a, kCopiesFromOne, 4)), 0u) << "a repeat does not move it back";
}

TEST(CopyGapsTest, MadeUpSendersAreNotRememberedWithoutBound) {
    CopyGaps gaps;
    for (int i = 0; i < 1000; ++i) {
        (void)gaps.observe(copy(Zid::random(), kCopiesNumbered, 1));
    }
    Zid late = Zid::random();
    EXPECT_EQ(gaps.observe(copy(late, kCopiesFromOne, 9)), 0u) << "past the bound: ignored";
}

}  // namespace
}  // namespace dora::zenoh
