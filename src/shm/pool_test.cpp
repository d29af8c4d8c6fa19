#include "shm/pool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <type_traits>
#include <vector>

#include "shm/region.hpp"
#include "testing/maps.hpp"

namespace dora::shm {
namespace {

// A sample is published or abandoned exactly once: it cannot be copied, and moving empties it.
static_assert(!std::is_copy_constructible_v<WritableSample>);
static_assert(!std::is_copy_assignable_v<WritableSample>);
static_assert(std::is_nothrow_move_constructible_v<WritableSample>);
static_assert(std::is_nothrow_move_assignable_v<WritableSample>);

std::string unique_prefix(const char* what) {
    static int counter = 0;
    return fmt::format("/dora.{}.test.{}.{}", ::getpid(), what, counter++);
}

using testing::permissions_at;

// Bytes of memory /dev/shm holds for a pool's segment (its allocated blocks).
uint64_t resident_bytes(const std::string& prefix, uint32_t index) {
    struct stat st {};
    if (::stat(("/dev/shm" + Pool::segment_name(prefix, 0, index)).c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<uint64_t>(st.st_blocks) * 512;
}
bool mapped(const std::string& name) { return testing::shm_mapped(name); }

struct PoolTest : ::testing::Test {
    std::string prefix = unique_prefix("pool");
    Pool pool{prefix, 1, 0};
    SegmentCache cache{{{1, prefix}}};
    ~PoolTest() override { pool.unlink_all(); }

    Entry send(std::string_view text, uint32_t receivers, std::string_view meta = "m") {
        auto sample = pool.allocate(text.size(), 256);
        EXPECT_TRUE(sample) << sample.error().message();
        std::memcpy(sample->data().data(), text.data(), text.size());
        auto entry = pool.publish(std::move(*sample), std::as_bytes(std::span(meta)), receivers, 1);
        EXPECT_TRUE(entry) << entry.error().message();
        return *entry;
    }
};

TEST_F(PoolTest, ReceiverSeesDataAndMetadataInPlace) {
    Entry e = send("hello", 1, "meta");
    auto view = cache.view(e);
    ASSERT_TRUE(view) << view.error().message();
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(view->data), view->data_len), "hello");
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(view->metadata), view->metadata_len),
              "meta");
}

TEST_F(PoolTest, IdleLargeSamplesGiveTheirMemoryBackAndStayUsable) {
    const size_t big = size_t{4} << 20;
    auto sample = pool.allocate(big, 256);
    ASSERT_TRUE(sample);
    std::memset(sample->data().data(), 0x5a, big);
    Entry e = *pool.publish(std::move(*sample), {}, 1, 1);
    Entry small = send("small", 0);
    EXPECT_GE(resident_bytes(prefix, e.segment), big);

    EXPECT_EQ(pool.free_idle(kIdleReleaseMinSize), 0u) << "a receiver still holds it";
    cache.release(e);
    EXPECT_GE(pool.free_idle(kIdleReleaseMinSize), big) << "not handed out since the last call";
    EXPECT_LE(resident_bytes(prefix, e.segment), sample_header_size());
    EXPECT_GT(resident_bytes(prefix, small.segment), 0u) << "small segments are left alone";
    EXPECT_EQ(pool.free_idle(kIdleReleaseMinSize), 0u) << "freed once";

    // The segment is reused as it was, its header intact.
    auto again = pool.allocate(big, 256);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->segment_index(), e.segment);
    std::memset(again->data().data(), 0x33, big);
    Entry e2 = *pool.publish(std::move(*again), {}, 1, 1);
    auto view = cache.view(e2);
    ASSERT_TRUE(view) << view.error().message();
    EXPECT_EQ(view->data[big - 1], std::byte{0x33});
    cache.release(e2);
    EXPECT_EQ(pool.free_idle(kIdleReleaseMinSize), 0u) << "handed out since the last call";
    EXPECT_GE(resident_bytes(prefix, e.segment), big);
}

// Bytes of [data, data + len) present in this process's page tables (/proc/self/pagemap, bit 63:
// what RSS counts), whatever other processes or mappings hold.
size_t present_bytes(const std::byte* data, size_t len) {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const auto first = reinterpret_cast<uintptr_t>(data) / page;
    const auto last = (reinterpret_cast<uintptr_t>(data) + len + page - 1) / page;
    std::vector<uint64_t> entries(last - first);
    // pread: a seeking std::ifstream fails on this file.
    const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << "cannot open /proc/self/pagemap";
    const auto want = static_cast<ssize_t>(entries.size() * sizeof(uint64_t));
    EXPECT_EQ(::pread(fd, entries.data(), static_cast<size_t>(want),
                      static_cast<off_t>(first * sizeof(uint64_t))),
              want);
    ::close(fd);
    size_t present = 0;
    for (uint64_t e : entries) {
        present += (e >> 63) != 0 ? page : 0;
    }
    return present;
}

// Reads every page of a view's payload (what the egress's session does when it copies it out).
uint64_t read_all(const SampleView& view) {
    uint64_t sum = 0;
    for (size_t i = 0; i < view.data_len; i += 1024) {
        sum += static_cast<uint8_t>(view.data[i]);
    }
    return sum;
}

TEST_F(PoolTest, ResidentBudgetKeepsReadPayloadPagesBoundedAndNeverDropsHeldOnes) {
    const size_t big = size_t{1} << 20;
    constexpr int kSegments = 12;
    std::vector<Entry> entries;
    for (int i = 0; i < kSegments; ++i) {  // all live at once: kSegments distinct segments
        auto sample = pool.allocate(big, 256);
        ASSERT_TRUE(sample) << sample.error().message();
        std::memset(sample->data().data(), i + 1, big);
        entries.push_back(*pool.publish(std::move(*sample), {}, 1, 1));
    }
    const size_t budget = size_t{3} << 20;  // about two 1.25 MiB segments
    cache.set_resident_budget(budget);
    EXPECT_EQ(cache.resident_budget(), budget);

    std::vector<SampleView> views;
    auto present_total = [&views] {
        size_t total = 0;
        for (const auto& v : views) {
            total += present_bytes(v.data, v.data_len);
        }
        return total;
    };
    // Held by the first one all along (as a sample in flight is): never dropped, whatever else.
    auto held = cache.view_held(entries[0]);
    ASSERT_TRUE(held) << held.error().message();
    views.push_back(held->view);
    EXPECT_EQ(read_all(held->view), (big / 1024) * 1);
    for (int round = 0; round < 3; ++round) {
        for (int i = 1; i < kSegments; ++i) {
            auto h = cache.view_held(entries[static_cast<size_t>(i)]);
            ASSERT_TRUE(h) << h.error().message();
            if (round == 0) {
                views.push_back(h->view);
            }
            EXPECT_EQ(read_all(h->view), (big / 1024) * static_cast<uint64_t>(i + 1))
                << "the payload reads right after its pages were dropped";
            h->holds->fetch_sub(1);  // copied out: may be dropped from now on
            // Resident: the budget, plus the held segment; what the cache counts is an upper
            // bound of what the page tables hold.
            const size_t held_bytes = cache.held_resident_bytes();
            EXPECT_GE(held_bytes, big);
            EXPECT_LE(cache.resident_bytes(), budget + held_bytes);
            EXPECT_LE(present_total(), cache.resident_bytes());
            EXPECT_LE(present_total(), budget + held_bytes)
                << "round " << round << ", segment " << i;
            EXPECT_GE(present_bytes(held->view.data, big), big)
                << "a held segment's pages are never dropped";
        }
    }
    held->holds->fetch_sub(1);
    cache.set_resident_budget(0);
    EXPECT_EQ(cache.resident_bytes(), 0u);
    EXPECT_EQ(present_total(), 0u);
    // Without a budget the same reads keep every segment resident (what the budget prevents).
    cache.set_resident_budget(SIZE_MAX);
    for (int i = 0; i < kSegments; ++i) {
        auto v = cache.view(entries[static_cast<size_t>(i)]);
        ASSERT_TRUE(v);
        EXPECT_EQ(read_all(*v), (big / 1024) * static_cast<uint64_t>(i + 1));
    }
    EXPECT_GE(present_total(), size_t{kSegments} * big);
    for (const auto& e : entries) {
        cache.release(e);
    }
}

TEST_F(PoolTest, SegmentIsReusedOnlyAfterLastReceiverReleases) {
    Entry first = send("a", 2);
    Entry second = send("b", 1);
    EXPECT_NE(first.segment, second.segment);
    cache.release(first);
    Entry third = send("c", 1);
    EXPECT_NE(third.segment, first.segment) << "one receiver still holds the first sample";
    cache.release(first);
    Entry fourth = send("d", 1);
    EXPECT_EQ(fourth.segment, first.segment);
    EXPECT_EQ(pool.segment_count(), 3u);
}

TEST_F(PoolTest, AClassAtItsLimitRefusesANewSampleUntilOneIsReleasedAndOtherClassesGoOn) {
    pool.set_class_limit(2);
    Entry first = send("a", 1);
    Entry second = send("b", 1);
    auto refused = pool.allocate(1, 256);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("all 2 samples of up to"), std::string::npos)
        << refused.error().message();
    EXPECT_NE(refused.error().message().find("release each input once processed"),
              std::string::npos)
        << refused.error().message();
    auto big = pool.allocate(1 << 20, 256);
    ASSERT_TRUE(big) << "another size class has room: " << big.error().message();
    pool.abandon(std::move(*big));
    cache.release(first);
    Entry third = send("c", 1);
    EXPECT_EQ(third.segment, first.segment);
    EXPECT_EQ(pool.segment_count(), 3u) << "two small, one large";
    cache.release(second);
    cache.release(third);
}

TEST_F(PoolTest, SampleWithoutReceiversIsFreeAtOnce) {
    Entry a = send("x", 0);
    Entry b = send("y", 0);
    EXPECT_EQ(a.segment, b.segment);
}

TEST_F(PoolTest, LargeAndSmallSamplesUseSeparateSizeClasses) {
    auto big = pool.allocate(5 << 20, 64);
    ASSERT_TRUE(big);
    EXPECT_GE(big->segment_size(), size_t{5} << 20);
    pool.abandon(std::move(*big));
    auto small = pool.allocate(8, 64);
    ASSERT_TRUE(small);
    EXPECT_EQ(small->segment_size(), sample_header_size() + 1024);  // the smallest class above
    pool.abandon(std::move(*small));
    // 1 MiB of data plus header and metadata needs a 1.25 MiB segment, not 2 MiB.
    auto mib = pool.allocate(1 << 20, 1024);
    ASSERT_TRUE(mib);
    EXPECT_EQ(mib->segment_size(), (size_t{5} << 20) / 4);
    pool.abandon(std::move(*mib));
}

TEST_F(PoolTest, ReceiverMapsTheHeaderReadWriteAndThePayloadReadOnly) {
    Entry e = send("hello", 1, "meta");
    auto view = cache.view(e);
    ASSERT_TRUE(view) << view.error().message();
    EXPECT_EQ(permissions_at(view->refcount), "rw-s");
    EXPECT_EQ(permissions_at(view->data), "r--s");
    EXPECT_EQ(permissions_at(view->metadata), "r--s");
    cache.release(e);  // through the writable header
    EXPECT_EQ(view->refcount->load(), 0u);
}

TEST_F(PoolTest, SenderMapsTheWholeSampleReadWrite) {
    auto sample = pool.allocate(64, 64);
    ASSERT_TRUE(sample);
    EXPECT_EQ(permissions_at(sample->header()), "rw-s");
    EXPECT_EQ(permissions_at(sample->data().data()), "rw-s");
}

TEST_F(PoolTest, ReceiverWritingIntoThePayloadFaults) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    Entry e = send("hello", 1);
    auto view = cache.view(e);
    ASSERT_TRUE(view) << view.error().message();
    auto* payload = const_cast<std::byte*>(view->data);
    // The default action, not a sanitizer's handler: the child dies of the hardware fault itself,
    // and no SEGV report (from a fault this test causes on purpose) reaches scripts/check.sh.
    EXPECT_EXIT(
        {
            std::signal(SIGSEGV, SIG_DFL);
            *static_cast<volatile std::byte*>(payload) = std::byte{'j'};
        },
        ::testing::KilledBySignal(SIGSEGV), "");
    EXPECT_EQ(static_cast<char>(view->data[0]), 'h');
}

TEST_F(PoolTest, MetadataThatDoesNotFitIsRefused) {
    auto sample = pool.allocate(10, 0);
    ASSERT_TRUE(sample);
    std::string meta(8000, 'm');
    auto entry = pool.publish(std::move(*sample), std::as_bytes(std::span(meta)), 1, 0);
    EXPECT_FALSE(entry);
}

TEST_F(PoolTest, CorruptHeaderIsRejectedByReceiver) {
    Entry e = send("hello", 1);
    auto seg = Segment::open(Pool::segment_name(prefix, 0, e.segment), true);
    ASSERT_TRUE(seg);
    seg->as<SampleHeader>()->data_len = uint64_t{1} << 40;
    auto view = cache.view(e);
    ASSERT_FALSE(view);
    EXPECT_NE(view.error().message().find("outside the segment"), std::string::npos);
}

TEST_F(PoolTest, MovingASampleEmptiesItSoItIsPublishedOnlyOnce) {
    auto sample = pool.allocate(5, 64);
    ASSERT_TRUE(sample);
    WritableSample moved = std::move(*sample);
    EXPECT_FALSE(sample->valid());
    EXPECT_TRUE(sample->data().empty());
    ASSERT_TRUE(moved.valid());
    auto entry = pool.publish(std::move(moved), {}, 1, 0);
    ASSERT_TRUE(entry) << entry.error().message();
    EXPECT_FALSE(moved.valid());
    auto again = pool.publish(std::move(moved), {}, 1, 0);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("empty sample"), std::string::npos);
    // The receiver still holds the sample: publishing twice did not free it for reuse.
    auto next = pool.allocate(5, 64);
    ASSERT_TRUE(next);
    EXPECT_NE(next->segment_index(), entry->segment);
}

TEST_F(PoolTest, SampleDestroyedUnsentIsFreeAgain) {
    uint32_t index = 0;
    {
        auto sample = pool.allocate(5, 64);
        ASSERT_TRUE(sample);
        index = sample->segment_index();
    }
    auto next = pool.allocate(5, 64);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->segment_index(), index);
    EXPECT_EQ(pool.segment_count(), 1u);
}

TEST_F(PoolTest, MoveAssigningOverAnUnsentSampleFreesIt) {
    auto a = pool.allocate(5, 64);
    auto b = pool.allocate(5, 64);
    ASSERT_TRUE(a && b);
    const uint32_t overwritten = a->segment_index();
    *a = std::move(*b);
    EXPECT_FALSE(b->valid());
    auto c = pool.allocate(5, 64);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->segment_index(), overwritten);
    EXPECT_EQ(pool.segment_count(), 2u);
}

TEST(PoolLifetimeTest, SampleOutlivingItsPoolStaysWritableThenUnmaps) {
    const std::string prefix = unique_prefix("outlive");
    const std::string name = Pool::segment_name(prefix, 0, 0);
    std::optional<WritableSample> sample;
    {
        Pool pool(prefix, 1, 0);
        auto allocated = pool.allocate(16, 64);
        ASSERT_TRUE(allocated);
        sample.emplace(std::move(*allocated));
        pool.unlink_all();
    }
    ASSERT_TRUE(mapped(name)) << "the sample keeps its segment mapped";
    std::memset(sample->data().data(), 0xab, 16);
    sample.reset();
    EXPECT_FALSE(mapped(name)) << "the last owner unmaps the segment";
}

TEST_F(PoolTest, UnknownSenderIsAnError) {
    Entry e = send("hello", 1);
    e.sender = 99;
    EXPECT_FALSE(cache.view(e));
}

TEST(RegionTest, ChildProcessReceivesThroughRegionAndReleases) {
    std::string prefix = unique_prefix("xproc");
    std::string region_name = prefix + ".region";
    std::vector<uint32_t> caps{4};
    auto region = Region::create(region_name, caps);
    ASSERT_TRUE(region) << region.error().message();
    Pool pool(prefix + ".p1", 1, 0);

    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Consumer process: open by name, wait for one sample, check it, release it.
        auto r = Region::open(region_name);
        if (!r) {
            _exit(10);
        }
        SegmentCache cache({{1, prefix + ".p1"}});
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            uint32_t seen = r->signal().current();
            if (auto e = r->ring(0).pop()) {
                auto v = cache.view(*e);
                if (!v || v->data_len != 3 || std::memcmp(v->data, "abc", 3) != 0) {
                    _exit(11);
                }
                cache.release(*e);
                _exit(0);
            }
            if (!r->signal().wait(seen, deadline, std::chrono::microseconds(50))) {
                _exit(12);
            }
        }
    }
    auto sample = pool.allocate(3, 64);
    ASSERT_TRUE(sample);
    std::memcpy(sample->data().data(), "abc", 3);
    auto entry = pool.publish(std::move(*sample), {}, 1, 5);
    ASSERT_TRUE(entry);
    EXPECT_FALSE(region->ring(0).push(*entry));
    region->signal().notify();
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    // Released by the child: the same segment is reused.
    auto again = pool.allocate(3, 64);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->segment_index(), entry->segment);
    pool.abandon(std::move(*again));
    pool.unlink_all();
    EXPECT_TRUE(unlink_segment(region_name));
}

TEST(RegionTest, OpeningSomethingElseIsRefused) {
    std::string name = unique_prefix("notregion");
    auto seg = Segment::create(name, 4096);
    ASSERT_TRUE(seg);
    auto region = Region::open(name);
    EXPECT_FALSE(region);
    EXPECT_TRUE(unlink_segment(name));
}

TEST(RegionTest, LeaseTableRecordsHeldSamples) {
    std::string name = unique_prefix("lease");
    std::vector<uint32_t> caps{2};
    auto region = Region::create(name, caps, 4);
    ASSERT_TRUE(region);
    auto leases = region->leases();
    int64_t a = leases.add(11);
    int64_t b = leases.add(22);
    leases.remove(a);
    std::vector<uint64_t> held;
    leases.for_each([&](uint64_t v) { held.push_back(v); });
    EXPECT_EQ(held, std::vector<uint64_t>{22});
    leases.remove(b);
    EXPECT_TRUE(unlink_segment(name));
}

TEST(RegionTest, EgressRegionsMayHaveMoreRingsThanANodeHasInputsAndRingsAreCheckedOnUse) {
    std::string name = unique_prefix("egress");
    std::vector<uint32_t> caps(kMaxInputs + 1, 4);
    EXPECT_FALSE(Region::create(name, caps)) << "a node region over kMaxInputs";
    auto region = Region::create(name, caps, kDefaultLeaseCapacity, true);
    ASSERT_TRUE(region) << region.error().message();
    auto opened = Region::open(name);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(opened->input_count(), kMaxInputs + 1);
    EXPECT_TRUE(opened->checked_ring(kMaxInputs));
    EXPECT_FALSE(opened->checked_ring(kMaxInputs + 1));
    // Both mappings see the same ring.
    region->ring(3).set_unwatched(true);
    EXPECT_TRUE(opened->checked_ring(3)->unwatched());
    EXPECT_TRUE(unlink_segment(name));
}

}  // namespace
}  // namespace dora::shm
