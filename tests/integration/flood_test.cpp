// Floods against the real `dora coordinator` and `dora router` (issue 11, "Exhaust"): idle
// strangers that hold connections and reconnect as soon as they are closed, with the target's
// descriptor limit lowered (prlimit), and a link that opens and then sends fragments of messages
// that never end. Each test measures the target (CPU time over the flood, RSS, descriptors, log
// lines) from /proc, prints the figures, and checks them against the bounds the README states;
// the CLI, a daemon with the token, and Zenoh clients must still be served meanwhile.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "core/sys.hpp"
#include "testing/cluster.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/wait.hpp"
#include "zenoh/session.hpp"
#include "zenoh/test_peer.hpp"
#include "zenoh/transport_msg.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

// What /proc says of a process.
struct ProcStats {
    double cpu_seconds = 0;  // user + system
    size_t rss_kib = 0;
    size_t fds = 0;
};

ProcStats stats_of(pid_t pid) {
    ProcStats s;
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces) start after the last ')'.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
    if (fields.size() > 13) {
        const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
        s.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / tick;  // utime, stime
    }
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            s.rss_kib = std::stoul(line.substr(6));
        }
    }
    std::error_code ec;
    for (auto it = fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
         !ec && it != fs::directory_iterator(); ++it) {
        ++s.fds;
    }
    return s;
}

// Lowers the soft descriptor limit of process `pid` (the hard limit stays).
void limit_descriptors(pid_t pid, rlim_t soft) {
    rlimit old{};
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &old), 0);
    rlimit lowered{soft, old.rlim_max};
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &lowered, nullptr), 0);
}

size_t count_lines(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// Idle strangers: `count` connections to 127.0.0.1:`port` from 127.0.0.2 .. 127.0.0.(1 +
// `addresses`), never sending a byte; each one the target closes is opened again, at most
// kReconnectsPerRound per 10 ms round (2,000 a second: the target's CPU time then tells a spin,
// which takes a whole core, from work done per connection). Runs on its own thread until
// destroyed.
class Flood {
  public:
    static constexpr size_t kReconnectsPerRound = 20;

    Flood(uint16_t port, size_t count, size_t addresses)
        : port_(port), addresses_(addresses), fds_(count) {
        for (size_t i = 0; i < fds_.size(); ++i) {
            open(i);
        }
        thread_ = std::thread([this] { run(); });
    }
    ~Flood() {
        stop_ = true;
        thread_.join();
    }
    Flood(const Flood&) = delete;
    Flood& operator=(const Flood&) = delete;

    [[nodiscard]] uint64_t reconnects() const { return reconnects_; }

  private:
    void open(size_t i) {
        sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_in source{};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(i % addresses_));
        (void)::bind(fd.get(), reinterpret_cast<sockaddr*>(&source), sizeof source);
        sockaddr_in target{};
        target.sin_family = AF_INET;
        target.sin_port = htons(port_);
        target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)::connect(fd.get(), reinterpret_cast<sockaddr*>(&target), sizeof target);
        fds_[i] = std::move(fd);
    }

    void run() {
        std::vector<pollfd> polls(fds_.size());
        char sink[4096];
        while (!stop_) {
            const auto round_end = std::chrono::steady_clock::now() + 10ms;
            for (size_t i = 0; i < fds_.size(); ++i) {
                polls[i] = pollfd{fds_[i].get(), POLLIN, 0};
            }
            if (::poll(polls.data(), polls.size(), 10) <= 0) {
                continue;
            }
            size_t reopened = 0;
            for (size_t i = 0; i < polls.size(); ++i) {
                if (polls[i].revents == 0) {
                    continue;
                }
                const ssize_t n = ::recv(fds_[i].get(), sink, sizeof sink, MSG_DONTWAIT);
                const bool closed = n == 0 || (n < 0 && errno != EAGAIN);
                if (closed && reopened < kReconnectsPerRound) {
                    open(i);
                    ++reopened;
                    ++reconnects_;
                }
            }
            std::this_thread::sleep_until(round_end);
        }
    }

    uint16_t port_;
    size_t addresses_;
    std::vector<sys::UniqueFd> fds_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> reconnects_{0};
    std::thread thread_;
};

// The flood figures of one target over one window, printed for the README.
struct Window {
    ProcStats before;
    ProcStats peak;
    ProcStats after;
    double seconds = 0;
    void sample(pid_t pid) {
        ProcStats now = stats_of(pid);
        peak.rss_kib = std::max(peak.rss_kib, now.rss_kib);
        peak.fds = std::max(peak.fds, now.fds);
    }
    void print(const std::string& what, uint64_t reconnects, size_t log_lines) const {
        std::cout << fmt::format(
                         "[flood figures] {}: {:.1f} s, {} reconnects by the flood; CPU {:.2f} s; "
                         "RSS {} -> peak {} KiB; fds {} -> peak {}; {} log lines",
                         what, seconds, reconnects, after.cpu_seconds - before.cpu_seconds,
                         before.rss_kib, peak.rss_kib, before.fds, peak.fds, log_lines)
                  << std::endl;
    }
};

struct CoordinatorFlood : ::testing::Test {
    TempDir dir{"dora-flood-test"};
    Cluster cluster{DORA_CLI_BINARY, dir.path()};

    void SetUp() override {
        // Every process of the cluster reads its token from XDG_CONFIG_HOME/dora/token.
        dir.write("config/dora/token",
                  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    }
    void TearDown() override {
        if (HasFailure()) {
            std::cerr << cluster.logs().substr(0, 20000);
        }
    }
    pid_t coordinator() { return cluster.coordinator()->pid(); }

    // While `flood` runs for `seconds`: the CLI lists (each call must answer) and the figures.
    Window watch(Flood& flood, int seconds) {
        Window w;
        w.before = stats_of(coordinator());
        w.peak = w.before;
        const auto start = Clock::now();
        while (Clock::now() - start < std::chrono::seconds(seconds)) {
            auto list = cluster.run({"list"}, 20s);
            EXPECT_EQ(list.code, 0) << list.all();
            w.sample(coordinator());
            std::this_thread::sleep_for(200ms);
        }
        w.after = stats_of(coordinator());
        w.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        (void)flood;
        return w;
    }
};

TEST_F(CoordinatorFlood, IdleStrangersKeepNeitherTheCliNorADaemonOut) {
    ASSERT_TRUE(cluster.start_coordinator());
    limit_descriptors(coordinator(), 1024);
    const size_t lines_before = count_lines(cluster.coordinator()->all(), "\n");
    // 600 strangers from 20 addresses, on both ports.
    Flood on_control(cluster.control_port(), 300, 20);
    Flood on_daemons(cluster.daemon_port(), 300, 20);
    cluster.start_daemon("edge");
    ASSERT_TRUE(cluster.wait_for_daemons(1, 30s));
    Window w = watch(on_control, 5);
    const std::string log = cluster.coordinator()->all();
    const size_t lines = count_lines(log, "\n") - lines_before;
    w.print("coordinator, 600 idle strangers, fd limit 1024",
            on_control.reconnects() + on_daemons.reconnects(), lines);
    // At most 64 strangers wait for their hello; the rest is the coordinator's own.
    EXPECT_LE(w.peak.fds, 64u + 30u);
    EXPECT_LT(w.after.cpu_seconds - w.before.cpu_seconds, 0.3 * w.seconds);
    EXPECT_LT(w.peak.rss_kib, 64u * 1024u);
    // Refusals are logged at most once per second (plus the daemon's own lines).
    EXPECT_LE(lines, 3 * (static_cast<size_t>(w.seconds) + 15)) << log.substr(log.size() - 3000);
    EXPECT_GE(count_lines(log, "have not authenticated yet"), 1u);
}

TEST_F(CoordinatorFlood, OutOfDescriptorsItShedsStrangersAndDoesNotSpin) {
    // Caps above the descriptor limit: the limit is what the flood meets.
    ASSERT_TRUE(cluster.start_coordinator(
        {"--max-pending-connections", "5000", "--max-pending-per-address", "5000"}));
    const size_t base = stats_of(coordinator()).fds;
    limit_descriptors(coordinator(), static_cast<rlim_t>(base + 40));
    const size_t lines_before = count_lines(cluster.coordinator()->all(), "\n");
    Flood on_control(cluster.control_port(), 600, 1);
    std::this_thread::sleep_for(500ms);
    cluster.start_daemon("edge");
    ASSERT_TRUE(cluster.wait_for_daemons(1, 30s));
    Window w = watch(on_control, 5);
    const std::string log = cluster.coordinator()->all();
    const size_t lines = count_lines(log, "\n") - lines_before;
    w.print(fmt::format("coordinator, 600 idle strangers, fd limit {}", base + 40),
            on_control.reconnects(), lines);
    // Descriptors numbered above the new limit when it was set stay open: a couple of them.
    EXPECT_LE(w.peak.fds, base + 40 + 2);
    EXPECT_LT(w.after.cpu_seconds - w.before.cpu_seconds, 0.3 * w.seconds);
    EXPECT_LE(lines, 3 * (static_cast<size_t>(w.seconds) + 15)) << log.substr(log.size() - 3000);
    EXPECT_GE(count_lines(log, "closed the oldest unauthenticated connection"), 1u) << log;
}

// `dora router` on a free loopback port, with a ZENOH_CONFIG of its own.
struct RouterFlood : ::testing::Test {
    TempDir dir{"dora-router-flood-test"};
    std::unique_ptr<Process> router;
    uint16_t port = 0;

    void start(const std::string& config) {
        auto file = dir.write("router.json5", config);
        router = std::make_unique<Process>(
            std::vector<std::string>{DORA_CLI_BINARY, "router", "-c", file.string(), "-l",
                                     "tcp/127.0.0.1:0", "-v"},
            SpawnOptions{.cwd = dir.path(), .env = {{"ZENOH_CONFIG", std::nullopt}}});
        std::smatch m;
        const std::regex listening(R"(listening on tcp/127\.0\.0\.1:(\d+))");
        ASSERT_TRUE(router->wait_for(
            [&] { return std::regex_search(router->out(), m, listening) || router->exited(); },
            10s))
            << router->all();
        ASSERT_FALSE(m.empty()) << router->all();
        port = static_cast<uint16_t>(std::stoi(m[1]));
    }
    void TearDown() override {
        if (HasFailure() && router) {
            std::cerr << router->all().substr(0, 20000);
        }
    }
};

// Two clients of the router on an in-process loop: one subscribes, one publishes; true once a
// sample went through.
bool clients_get_through(uint16_t port) {
    auto loop = EventLoop::create({nullptr, false}).value();
    auto open = [&] {
        zenoh::SessionOptions options;
        options.config.mode = zenoh::Mode::kClient;
        options.config.connect.push_back(
            zenoh::parse_endpoint(fmt::format("tcp/127.0.0.1:{}", port)).value());
        options.transport.log = [](std::string_view) {};
        return zenoh::Session::open(*loop, std::move(options)).value();
    };
    auto sub = open();
    auto pub = open();
    bool got = false;
    auto subscription =
        sub->declare_subscriber("calm/key", [&](const zenoh::Sample&) { got = true; }).value();
    const auto deadline = Clock::now() + 20s;
    while (!got && Clock::now() < deadline) {
        (void)pub->put("calm/key", zenoh::as_bytes("hello"));
        loop->run_once(20ms);
    }
    return got;
}

TEST_F(RouterFlood, IdleStrangersAreCappedAndClientsStillGetThrough) {
    start("{}");
    limit_descriptors(router->pid(), 1024);
    Flood flood(port, 600, 20);
    Window w;
    w.before = stats_of(router->pid());
    w.peak = w.before;
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < 5s) {
        EXPECT_TRUE(clients_get_through(port));
        w.sample(router->pid());
        std::this_thread::sleep_for(200ms);
    }
    w.after = stats_of(router->pid());
    w.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string log = router->all();
    w.print("dora router, 600 idle strangers, fd limit 1024", flood.reconnects(),
            count_lines(log, "\n"));
    // accept_pending (100) strangers at most, and the two clients, and the router's own.
    EXPECT_LE(w.peak.fds, 100u + 20u);
    EXPECT_LT(w.after.cpu_seconds - w.before.cpu_seconds, 0.3 * w.seconds);
    // 100 pending links of 64 KiB each at most, plus what the router holds anyway.
    EXPECT_LT(w.peak.rss_kib, 64u * 1024u);
    EXPECT_LE(count_lines(log, "closed during the handshake"), static_cast<size_t>(w.seconds) + 2);
}

// The next batch `peer` receives, waiting up to 10 s.
std::vector<uint8_t> next_batch(zenoh::testing::RawPeer& peer) {
    std::optional<std::vector<uint8_t>> batch;
    EXPECT_TRUE(wait_until([&] { return (batch = peer.try_batch()).has_value(); }, 10s));
    return batch.value_or(std::vector<uint8_t>{});
}

// Plays zenoh-pico's handshake (INIT with 65535-byte batches and patch 1, then OPEN with the
// cookie) on a raw link.
void pico_handshake(zenoh::testing::RawPeer& peer) {
    peer.send_batch(zenoh::from_hex("8109f270791e60e3966fd48f2981ac79f2809c2701").value());
    auto ack = next_batch(peer);
    auto init = zenoh::decode_single(ack);
    ASSERT_TRUE(init && std::holds_alternative<zenoh::Init>(*init));
    std::vector<uint8_t> open{0x42, 0x0a, 0x00};
    zenoh::Writer w(open);
    w.zbytes(std::get<zenoh::Init>(*init).cookie);
    peer.send_batch(open);
    (void)next_batch(peer);  // OPEN ack
}

TEST_F(RouterFlood, FragmentsOfMessagesThatNeverEndStayWithinTheLinkLimit) {
    constexpr uint64_t kLimit = 16u << 20;
    start(fmt::format("{{transport: {{link: {{rx: {{max_message_size: {}}}}}}}}}", kLimit));
    zenoh::testing::RawPeer link(port);
    pico_handshake(link);
    Window w;
    w.before = stats_of(router->pid());
    w.peak = w.before;
    const auto t0 = Clock::now();
    // 5 messages of 20 MiB on each channel (200 MiB): each passes the 16 MiB limit.
    std::vector<uint8_t> chunk(60000, 0x5a);
    uint64_t sn[2] = {0, 0};
    for (int message = 0; message < 5; ++message) {
        for (size_t sent = 0; sent < (20u << 20); sent += chunk.size()) {
            for (int channel = 0; channel < 2; ++channel) {
                std::vector<uint8_t> batch;
                zenoh::Writer bw(batch);
                zenoh::Fragment f;
                f.reliable = channel == 0;
                f.sn = sn[channel]++;
                f.first = sent == 0;
                f.more = true;
                zenoh::encode(bw, f);
                batch.insert(batch.end(), chunk.begin(), chunk.end());
                link.send_batch(batch);
            }
            if (sent % (4u << 20) == 0) {
                w.sample(router->pid());
            }
        }
    }
    ASSERT_TRUE(wait_until(
        [&] { return router->all().find("dropped a fragmented") != std::string::npos; }, 10s));
    w.sample(router->pid());
    w.after = stats_of(router->pid());
    w.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string log = router->all();
    w.print("dora router, one link sending 200 MiB of fragments, max_message_size 16 MiB", 0,
            count_lines(log, "\n"));
    EXPECT_EQ(count_lines(log, "dropped a fragmented message"), 1u) << log;
    // The link's reassembly (16 MiB) and the router's own.
    EXPECT_LT(w.peak.rss_kib, w.before.rss_kib + (kLimit >> 10) + 8u * 1024u);
    EXPECT_TRUE(clients_get_through(port));
}

}  // namespace
}  // namespace dora::testing
