// A sender's pool stays bounded under a flood, with the real `dora` binary: a coordinator and
// daemons `a` and `b` on loopback, a producer on `a` sending small messages as fast as it can to
// a consumer on `b` (through `a`'s egress and Zenoh) and to a slow consumer on `a`.
//
// While the producer floods, the test samples (every 100 ms plus the time reading takes) how many
// segments the producer's pool has in /dev/shm, how many of them the producer maps and how many
// mappings of them the sending daemon holds (lines of /proc/<pid>/maps). They must stay within
// the bound shm/pool.hpp states:
// the samples that can be live at once are those in the rings the output feeds (the slow
// consumer's queue, the egress ring as deep as the remote consumer's queue), those the egress has
// handed to Zenoh and not yet seen put (EgressLimits::max_samples), the one the slow consumer is
// working on and the one the producer is writing: 1136. The pool grows until the flood first
// fills all of them (when depends on the machine) and never past that; before the egress was
// bounded this tightly, the same flood grew it to 1476-1651 segments in 6 s (three runs), and
// growing. The producer must have sent far more than the bound, or nothing was flooded.
//
// Figures (segments and mappings over time, messages sent and received) are printed.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/egress.hpp"
#include "testing/cluster.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

constexpr uint32_t kSlowQueue = 10;
constexpr uint32_t kRemoteQueue = 100;
constexpr int kFloodMs = 6000;
constexpr auto kWarmUp = 2s;
constexpr auto kSamplePeriod = 100ms;

// The live samples the producer can have at once (see the header comment and shm/pool.hpp).
uint64_t stated_bound() {
    return kSlowQueue + kRemoteQueue + daemon::EgressLimits{}.max_samples + 1 + 1;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The PID of the process of node `node` started by this test's daemons (their nodes inherit the
// cluster's XDG_RUNTIME_DIR), or nothing yet.
std::optional<pid_t> node_pid(const std::string& node, const fs::path& runtime_dir) {
    const std::string id = "DORA_NODE_ID=" + node + '\0';
    const std::string runtime = "XDG_RUNTIME_DIR=" + runtime_dir.string() + '\0';
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const std::string environ = '\0' + read_text(entry.path() / "environ");
        if (has_text(environ, '\0' + id) && has_text(environ, '\0' + runtime)) {
            return static_cast<pid_t>(std::stol(name));
        }
    }
    return std::nullopt;
}

// The pool prefix ("dora.<pid>.<tail>.p<sender>") of the first pool segment `pid` maps.
std::optional<std::string> pool_prefix_of(pid_t pid) {
    static const std::regex segment(R"(/dev/shm/(dora\.[^ \n]*\.p[0-9]+)\.g[0-9]+\.s[0-9]+)");
    const std::string maps = read_text(fs::path("/proc") / std::to_string(pid) / "maps");
    std::smatch match;
    if (std::regex_search(maps, match, segment)) {
        return match[1].str();
    }
    return std::nullopt;
}

// Lines of /proc/<pid>/maps, and those of them that map a segment named `<prefix>.g...`.
struct MapCounts {
    size_t all = 0;
    size_t pool = 0;
};
MapCounts map_counts(pid_t pid, const std::string& prefix) {
    std::ifstream in(fs::path("/proc") / std::to_string(pid) / "maps");
    const std::string needle = "/dev/shm/" + prefix + ".g";
    MapCounts counts;
    for (std::string line; std::getline(in, line);) {
        ++counts.all;
        counts.pool += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return counts;
}

// Objects in /dev/shm named `<prefix>.g...`: the pool's segments.
size_t segments_with_prefix(const std::string& prefix) {
    const std::string start = prefix + ".g";
    size_t n = 0;
    if (DIR* dir = ::opendir("/dev/shm")) {
        while (const dirent* e = ::readdir(dir)) {
            n += std::string_view(e->d_name).starts_with(start) ? 1 : 0;
        }
        ::closedir(dir);
    }
    return n;
}

struct Sample {
    std::chrono::milliseconds at{0};  // since the first segment was seen
    size_t segments = 0;
    MapCounts producer;
    MapCounts daemon;
};

class PoolFlood : public ::testing::Test {
  protected:
    void TearDown() override { stop_cluster(cluster_, HasFailure()); }

    fs::path dataflow() {
        std::string text = R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 0 --for-ms FLOOD_MS --size 512
    outputs: [out]
    _unstable_deploy: {machine: a}
  - id: slow
    path: NODE
    args: slow --delay-ms 20
    inputs:
      in: {source: source/out, queue_size: SLOW_QUEUE}
    _unstable_deploy: {machine: a}
  - id: sink
    path: NODE
    args: consumer
    inputs:
      in: {source: source/out, queue_size: REMOTE_QUEUE}
    _unstable_deploy: {machine: b}
)";
        text = replace_all(text, "NODE", DORA_TEST_NODE);
        text = replace_all(text, "FLOOD_MS", std::to_string(kFloodMs));
        text = replace_all(text, "SLOW_QUEUE", std::to_string(kSlowQueue));
        text = replace_all(text, "REMOTE_QUEUE", std::to_string(kRemoteQueue));
        return dir_.write("dataflow.yml", text);
    }

    TempDir dir_{"dora-pool-flood-test"};
    std::unique_ptr<Cluster> cluster_;
};

TEST_F(PoolFlood, TheSendersPoolAndItsMappingsStayWithinTheStatedBound) {
    cluster_ = std::make_unique<Cluster>(DORA_CLI_BINARY, dir_.path());
    ASSERT_TRUE(cluster_->start({"a", "b"}));
    const pid_t daemon_a = cluster_->daemons()[0]->pid();
    auto run = cluster_->spawn({"start", dataflow().string(), "--attach"});

    std::optional<pid_t> source;
    std::optional<std::string> prefix;
    ASSERT_TRUE(wait_until(
        [&] {
            source = source ? source : node_pid("source", cluster_->runtime_dir());
            prefix = source ? pool_prefix_of(*source) : std::nullopt;
            return prefix.has_value() || run->exited();
        },
        60s, 20ms))
        << run->all();
    ASSERT_TRUE(prefix) << "the producer never mapped a pool segment\n" << run->all();

    std::vector<Sample> samples;
    const auto start = Clock::now();
    while (!run->exited() && !process_gone(*source)) {
        Sample s;
        s.at = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        s.segments = segments_with_prefix(*prefix);
        s.producer = map_counts(*source, *prefix);
        s.daemon = map_counts(daemon_a, *prefix);
        if (s.producer.all == 0) {
            break;  // the producer exited between the checks
        }
        samples.push_back(s);
        std::this_thread::sleep_for(kSamplePeriod);
    }
    const int status = run->wait(60s);
    EXPECT_EQ(exit_code(status), 0) << describe_status(status) << "\n" << run->all();
    std::printf("%s", run->all().c_str());
    ASSERT_GE(samples.size(), 2u) << "the flood ended before it could be sampled";

    const uint64_t bound = stated_bound();
    std::smatch sent;
    const std::string out = run->all();
    ASSERT_TRUE(std::regex_search(out, sent, std::regex("producer sent ([0-9]+)"))) << out;
    EXPECT_GT(std::stoull(sent[1].str()), 100 * bound) << "the producer did not flood";
    Sample peak;
    std::optional<Sample> warm;
    for (const auto& s : samples) {
        peak.segments = std::max(peak.segments, s.segments);
        peak.producer.pool = std::max(peak.producer.pool, s.producer.pool);
        peak.producer.all = std::max(peak.producer.all, s.producer.all);
        peak.daemon.pool = std::max(peak.daemon.pool, s.daemon.pool);
        peak.daemon.all = std::max(peak.daemon.all, s.daemon.all);
        if (!warm && s.at >= kWarmUp) {
            warm = s;
        }
    }
    for (size_t i = 0; i < samples.size(); i += std::max<size_t>(1, samples.size() / 12)) {
        const Sample& s = samples[i];
        std::printf(
            "t=%5lld ms: %zu segments; producer maps %zu of them (%zu mappings in all), daemon a "
            "%zu (%zu in all)\n",
            static_cast<long long>(s.at.count()), s.segments, s.producer.pool, s.producer.all,
            s.daemon.pool, s.daemon.all);
    }
    std::printf("peak: %zu segments (bound %llu); producer %zu (%zu in all), daemon a %zu (%zu)\n",
                peak.segments, static_cast<unsigned long long>(bound), peak.producer.pool,
                peak.producer.all, peak.daemon.pool, peak.daemon.all);

    EXPECT_LE(peak.segments, bound) << "segments of the producer's pool in /dev/shm";
    EXPECT_LE(peak.producer.pool, bound) << "the producer's mappings of its pool";
    // The daemon maps each segment once: its header page read-write, its payload read-only.
    EXPECT_LE(peak.daemon.pool, 2 * bound) << "daemon a's mappings of the producer's pool";
    // When the flood first fills the egress depends on the machine (here after 0.5-4 s); from
    // then on the pool has what it needs and reuses it.
    if (warm) {
        std::printf("at %lld s: %zu segments; at the end: %zu\n",
                    static_cast<long long>(kWarmUp.count()), warm->segments,
                    samples.back().segments);
    }
}

}  // namespace
}  // namespace dora::testing
