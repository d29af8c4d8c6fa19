// Zenoh benchmark between two of our sessions over loopback, each on its own thread and event
// loop: throughput (publisher as fast as its link takes, subscriber counts) and ping/pong round
// trips, peer to peer and through a router session (the code `dora router` runs) with both ends
// in client mode. Prints tables; not a test. bench/zenoh/run.sh runs it beside Cyclone DDS.
// With --tls DIR every link is tls/ instead of tcp/ (DIR holds ca.pem, and cert.pem and key.pem
// for 127.0.0.1, signed by it; bench/zenoh/run.sh --tls makes them).
//
// Usage: dora_zenoh_bench [--seconds S] [--rounds N] [--sizes 8,1024,...] [--tls DIR]
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "zenoh/session.hpp"

namespace {

using namespace dora::zenoh;
using namespace std::chrono_literals;
using dora::EventLoop;
using dora::Timer;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kKey = "bench/data";
constexpr size_t kMaxPending = size_t{16} << 20;  // publisher back-pressure: queued bytes

// The links' protocol ("tcp" or "tls") and, for tls, the certificates (--tls DIR).
std::string g_scheme = "tcp";
TlsKeys g_tls;

std::string any_port() { return g_scheme + "/127.0.0.1:0"; }

// One session on its own thread and loop.
class Node {
  public:
    Node(Mode mode, std::vector<std::string> listen, std::vector<std::string> connect) {
        // Signals stay with the process (Ctrl-C ends the benchmark).
        loop_ = EventLoop::create({nullptr, /*handle_signals=*/false}).value();
        SessionOptions options;
        options.config.mode = mode;
        for (const auto& e : listen) {
            options.config.listen.push_back(parse_endpoint(e).value());
        }
        for (const auto& e : connect) {
            options.config.connect.push_back(parse_endpoint(e).value());
        }
        options.config.tls = g_tls;
        options.transport.log = [](std::string_view) {};
        options.reconnect_delay = 50ms;
        session_ = Session::open(*loop_, std::move(options)).value();
        thread_ = std::thread([this] { loop_->run(); });
    }
    ~Node() {
        loop_->stop();
        thread_.join();
        session_.reset();
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Runs `fn` on the loop thread and returns its result.
    template <typename Fn>
    auto call(Fn fn) {
        std::promise<decltype(fn())> done;
        auto result = done.get_future();
        loop_->post([&] {
            if constexpr (std::is_void_v<decltype(fn())>) {
                fn();
                done.set_value();
            } else {
                done.set_value(fn());
            }
        });
        return result.get();
    }
    std::string endpoint() {
        return g_scheme + "/127.0.0.1:" +
               std::to_string(call([this] { return session_->listen_ports().at(0); }));
    }
    Session& session() { return *session_; }
    EventLoop& loop() { return *loop_; }

  private:
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<Session> session_;
    std::thread thread_;
};

bool wait_for(Node& node, std::string_view key) {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
        if (node.call([&] { return node.session().has_remote_subscriber(key); })) {
            return true;
        }
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

// Publisher and subscriber ends, connected directly or through a router.
struct Topology {
    std::unique_ptr<Node> router, a, b;  // a publishes / pings, b subscribes / pongs
    explicit Topology(bool via_router) {
        if (via_router) {
            router = std::make_unique<Node>(Mode::kRouter, std::vector<std::string>{any_port()},
                                            std::vector<std::string>{});
            std::string at = router->endpoint();
            b = std::make_unique<Node>(Mode::kClient, std::vector<std::string>{},
                                       std::vector<std::string>{at});
            a = std::make_unique<Node>(Mode::kClient, std::vector<std::string>{},
                                       std::vector<std::string>{at});
        } else {
            b = std::make_unique<Node>(Mode::kPeer, std::vector<std::string>{any_port()},
                                       std::vector<std::string>{});
            a = std::make_unique<Node>(Mode::kPeer, std::vector<std::string>{},
                                       std::vector<std::string>{b->endpoint()});
        }
    }
};

struct Throughput {
    double msgs_per_s = 0;
    double gbit_per_s = 0;
};

// `cross_thread`: a producer thread hands batches to Session::publisher() (the daemon's path)
// instead of the loop thread calling put().
Throughput measure_throughput(bool via_router, size_t size, double seconds, bool cross_thread) {
    // Handles set on the loop threads; declared before the topology so they are destroyed after
    // its loops stopped (then they are inert).
    Subscription subscription;
    Timer retry;
    Topology t(via_router);
    std::atomic<uint64_t> received{0};
    t.b->call([&] {
        subscription =
            t.b->session()
                .declare_subscriber(
                    kKey, [&](const Sample&) { received.fetch_add(1, std::memory_order_relaxed); })
                .value();
    });
    if (!wait_for(*t.a, kKey)) {
        return {};
    }
    // The publisher fills its link up to kMaxPending, then yields one loop iteration.
    std::vector<uint8_t> payload(size, 0xab);
    std::atomic<bool> stop{false};
    std::atomic<bool> stopped{false};
    std::function<void()> publish = [&] {
        Session& s = t.a->session();
        for (int i = 0; i < 256 && s.pending_bytes() < kMaxPending; ++i) {
            (void)s.put(kKey, payload);
        }
        if (stop.load()) {
            stopped = true;
            return;
        }
        // A full link: give the loop a moment to write (and the receiver the CPU) instead of
        // spinning on posted work. 1 ms is what the 50 us asked of the old zenoh loop became
        // (its epoll timeout had millisecond steps); the timerfd of core's loop would honour 50
        // us and wake the publisher 20000 times a second, stealing CPU from the receiver.
        if (s.pending_bytes() >= kMaxPending) {
            retry = t.a->loop().add_timer(1ms, publish);
        } else {
            t.a->loop().post(publish);
        }
    };
    std::thread producer;
    if (cross_thread) {
        Publisher publisher = t.a->call([&] { return t.a->session().publisher(); });
        size_t limit = std::max<size_t>(64, kMaxPending / std::max<size_t>(size, 1));
        producer = std::thread([&, publisher, limit] {
            while (!stop.load()) {
                if (publisher.queued() >= limit) {
                    std::this_thread::sleep_for(20us);
                    continue;
                }
                std::vector<OutgoingSample> batch(std::min<size_t>(256, limit),
                                                  OutgoingSample{kKey, payload, {}, {}});
                (void)publisher.publish(std::move(batch));
            }
            stopped = true;
        });
    } else {
        t.a->loop().post(publish);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.3, seconds / 3)));
    uint64_t start_count = received.load();
    auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    uint64_t n = received.load() - start_count;
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    stop = true;
    while (!stopped.load()) {  // the publisher no longer re-schedules itself
        std::this_thread::sleep_for(1ms);
    }
    if (producer.joinable()) {
        producer.join();
    }
    double rate = static_cast<double>(n) / elapsed;
    return {rate, rate * static_cast<double>(size) * 8 / 1e9};
}

struct Latency {
    double p50_us = 0;
    double p99_us = 0;
    size_t samples = 0;
};

Latency measure_latency(bool via_router, size_t size, size_t rounds) {
    Subscription ping_subscription;  // before the topology: see measure_throughput
    Subscription pong_subscription;
    Topology t(via_router);
    t.b->call([&] {
        ping_subscription =
            t.b->session()
                .declare_subscriber(
                    "bench/ping",
                    [&](const Sample& s) { (void)t.b->session().put("bench/pong", s.put.payload); })
                .value();
    });
    std::vector<double> rtt;
    std::promise<void> done;
    std::vector<uint8_t> payload(size, 0x5a);
    Clock::time_point sent;
    size_t warmup = std::max<size_t>(rounds / 10, 5);
    size_t seq = 0;
    t.a->call([&] {
        pong_subscription =
            t.a->session()
                .declare_subscriber("bench/pong",
                                    [&](const Sample&) {
                                        if (seq++ >= warmup) {
                                            rtt.push_back(std::chrono::duration<double, std::micro>(
                                                              Clock::now() - sent)
                                                              .count());
                                        }
                                        if (seq == warmup + rounds) {
                                            done.set_value();
                                            return;
                                        }
                                        sent = Clock::now();
                                        (void)t.a->session().put("bench/ping", payload);
                                    })
                .value();
    });
    if (!wait_for(*t.a, "bench/ping") || !wait_for(*t.b, "bench/pong")) {
        return {};
    }
    // A client's has_remote_subscriber only says its router link is up: the first ping would be
    // lost (and the exchange never start) if the router did not know the pong side yet.
    if (t.router && (!wait_for(*t.router, "bench/ping") || !wait_for(*t.router, "bench/pong"))) {
        return {};
    }
    t.a->call([&] {
        sent = Clock::now();
        (void)t.a->session().put("bench/ping", payload);
    });
    if (done.get_future().wait_for(60s) != std::future_status::ready) {
        std::fprintf(stderr, "latency %zu B: timed out after %zu rounds\n", size, seq);
        std::exit(1);
    }
    std::sort(rtt.begin(), rtt.end());
    auto at = [&](double p) {
        return rtt[std::min(rtt.size() - 1,
                            static_cast<size_t>(p * static_cast<double>(rtt.size())))];
    };
    return {at(0.5), at(0.99), rtt.size()};
}

std::vector<size_t> parse_sizes(std::string_view text) {
    std::vector<size_t> out;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        size_t v = 0;
        std::from_chars(item.data(), item.data() + item.size(), v);
        out.push_back(v);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    return out;
}

std::string size_name(size_t size) {
    if (size >= (1u << 20) && size % (1u << 20) == 0) {
        return std::to_string(size >> 20) + " MiB";
    }
    if (size >= 1024 && size % 1024 == 0) {
        return std::to_string(size >> 10) + " KiB";
    }
    return std::to_string(size) + " B";
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2;
    size_t rounds = 2000;
    std::vector<size_t> sizes{8, 1024, 65536, 1 << 20};
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view flag = argv[i];
        if (flag == "--seconds") {
            seconds = std::atof(argv[i + 1]);
        } else if (flag == "--rounds") {
            rounds = static_cast<size_t>(std::atol(argv[i + 1]));
        } else if (flag == "--sizes") {
            sizes = parse_sizes(argv[i + 1]);
        } else if (flag == "--tls") {
            std::string dir = argv[i + 1];
            g_scheme = "tls";
            g_tls.root_ca_certificate.path = dir + "/ca.pem";
            g_tls.listen_certificate.path = dir + "/cert.pem";
            g_tls.listen_private_key.path = dir + "/key.pem";
        } else {
            std::fprintf(stderr,
                         "usage: %s [--seconds S] [--rounds N] [--sizes 8,1024] [--tls DIR]\n",
                         argv[0]);
            return 2;
        }
    }
    std::printf(
        "== dora-cpp Zenoh sessions over loopback, %s/ links (one thread and event loop each) ==\n",
        g_scheme.c_str());
    std::printf("%-16s %-9s %12s %10s %12s %12s %12s\n", "path", "size", "msg/s", "Gbit/s",
                "rtt p50 us", "rtt p99 us", "1-way p50 us");
    for (bool via_router : {false, true}) {
        for (size_t size : sizes) {
            Throughput tp = measure_throughput(via_router, size, seconds, false);
            Latency lat =
                measure_latency(via_router, size, size >= (1u << 20) ? rounds / 4 : rounds);
            std::printf("%-16s %-9s %12.0f %10.2f %12.1f %12.1f %12.1f\n",
                        via_router ? "client-router" : "peer-peer", size_name(size).c_str(),
                        tp.msgs_per_s, tp.gbit_per_s, lat.p50_us, lat.p99_us, lat.p50_us / 2);
            std::fflush(stdout);
        }
    }
    std::printf("\n== the same, publishing from another thread through Session::publisher() ==\n");
    std::printf("%-16s %-9s %12s %10s\n", "path", "size", "msg/s", "Gbit/s");
    for (size_t size : sizes) {
        Throughput tp = measure_throughput(false, size, seconds, true);
        std::printf("%-16s %-9s %12.0f %10.2f\n", "peer-peer", size_name(size).c_str(),
                    tp.msgs_per_s, tp.gbit_per_s);
        std::fflush(stdout);
    }
    return 0;
}
