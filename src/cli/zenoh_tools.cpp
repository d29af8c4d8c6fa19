// `dora zenoh sub|pub|ping|pong|scout`: the Zenoh example tools users of dora are told to build
// with cargo, over our own session. Defaults mirror zenoh's examples: peer mode, `-e` connects
// there, ZENOH_CONFIG is honoured; ping/pong use the keys test/ping and test/pong like z_ping and
// z_pong, so they pair with zenoh-pico's. Every loop is bounded in count and in time.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>

#include "cli/commands.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/error.hpp"
#include "zenoh/scouting.hpp"

namespace dora::cli {
namespace {

using namespace std::chrono_literals;
using zenoh::Clock;

constexpr std::string_view kPingKey = "test/ping";
constexpr std::string_view kPongKey = "test/pong";

void warn_if_isolated(const zenoh::ZenohConfig& config, std::string_view tool) {
    if (config.connect.empty() && config.listen.empty() && !config.multicast.enabled) {
        fmt::print(stderr,
                   "{}: nothing to connect to and nothing to listen on: use -e ENDPOINT, -l "
                   "ENDPOINT or a ZENOH_CONFIG with scouting.multicast.enabled\n",
                   tool);
    }
}

// Calls `ready()` every few ms until it holds or `limit` passed, then `then()` (on the loop).
void when_ready(zenoh::EventLoop& loop, std::function<bool()> ready, Clock::time_point deadline,
                std::function<void()> then) {
    if (ready() || Clock::now() >= deadline) {
        then();
        return;
    }
    loop.add_timer(5ms, [&loop, ready = std::move(ready), deadline, then = std::move(then)] {
        when_ready(loop, ready, deadline, then);
    });
}

// Stops the loop once everything queued was written (or after `limit`).
void stop_when_flushed(zenoh::EventLoop& loop, zenoh::Session& session,
                       Clock::duration limit = 2s) {
    when_ready(
        loop, [&session] { return session.pending_bytes() == 0; }, Clock::now() + limit,
        [&loop] { loop.stop(); });
}

// ---- sub ----

// sub and pong: a session that answers what arrives, until a count or a time limit.
struct ListenOptions {
    ZenohCliOptions zenoh;
    std::string key;  // sub only
    uint64_t count = 0;
    unsigned seconds = 0;
};

void run_sub(const ListenOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh sub");
    warn_if_isolated(config, "dora zenoh sub");
    ZenohRuntime rt = open_zenoh(std::move(config));
    uint64_t received = 0;
    auto id = rt.session->declare_subscriber(o.key, [&](const zenoh::Sample& s) {
        std::string line = fmt::format(">> [Subscriber] Received PUT ('{}': '{}')", s.key,
                                       printable_payload(s.put.payload));
        if (s.put.attachment) {
            line += fmt::format(" (attachment: {} bytes)", s.put.attachment->size());
        }
        fmt::print("{}\n", line);
        std::fflush(stdout);
        if (o.count != 0 && ++received >= o.count) {
            rt.loop->stop();
        }
    });
    if (!id) {
        throw Exception(id.error().context("dora zenoh sub"));
    }
    fmt::print(stderr, "Declaring Subscriber on '{}'...\n", o.key);
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
}

// ---- pub ----

struct PubOptions {
    ZenohCliOptions zenoh;
    std::string key;
    std::string value;
    std::string attachment;
    uint64_t count = 1;
    unsigned period_ms = 1000;
    unsigned wait_ms = 2000;
};

void run_pub(const PubOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh pub");
    warn_if_isolated(config, "dora zenoh pub");
    ZenohRuntime rt = open_zenoh(std::move(config));
    auto& session = *rt.session;
    auto& loop = *rt.loop;
    uint64_t sent = 0;
    std::optional<Error> failure;
    std::function<void()> publish = [&] {
        std::optional<zenoh::Bytes> attachment;
        if (!o.attachment.empty()) {
            attachment = zenoh::as_bytes(o.attachment);
        }
        fmt::print("Putting Data ('{}': '{}')...\n", o.key, o.value);
        std::fflush(stdout);
        auto put = session.put(o.key, zenoh::as_bytes(o.value), std::nullopt, attachment);
        if (!put) {
            failure = put.error();
            loop.stop();
            return;
        }
        if (++sent >= o.count) {
            stop_when_flushed(loop, session);
            return;
        }
        loop.add_timer(std::chrono::milliseconds(o.period_ms), publish);
    };
    // Publish once someone wants the key, or after --wait anyway (like a zenoh publisher would).
    when_ready(
        loop, [&] { return session.has_remote_subscriber(o.key); },
        Clock::now() + std::chrono::milliseconds(o.wait_ms), publish);
    auto limit = std::chrono::milliseconds(o.wait_ms + o.period_ms * o.count + 5000);
    run_zenoh_loop(loop, limit);
    if (failure) {
        throw Exception(failure->context("dora zenoh pub"));
    }
}

// ---- ping / pong ----

struct PingOptions {
    ZenohCliOptions zenoh;
    std::vector<size_t> sizes{8};
    uint64_t count = 100;
    uint64_t warmup = 10;
    unsigned timeout_ms = 1000;
    unsigned wait_ms = 5000;
};

struct PingRun {
    size_t size = 0;
    std::vector<double> rtt_us;
    uint64_t lost = 0;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

class Pinger {
  public:
    Pinger(zenoh::EventLoop& loop, zenoh::Session& session, const PingOptions& o)
        : loop_(loop), session_(session), o_(o) {}

    void start() {
        if (next_size_ >= o_.sizes.size()) {
            loop_.stop();
            return;
        }
        runs_.push_back(PingRun{o_.sizes[next_size_++], {}, 0});
        payload_.assign(runs_.back().size, 0x5a);
        seq_ = 0;
        send();
    }
    void on_pong() {
        if (!waiting_) {
            return;  // a late reply to a ping that timed out
        }
        loop_.cancel_timer(timeout_);
        waiting_ = false;
        double us = std::chrono::duration<double, std::micro>(Clock::now() - sent_at_).count();
        if (seq_ >= o_.warmup) {
            runs_.back().rtt_us.push_back(us);
        }
        ++seq_;
        next();
    }
    [[nodiscard]] const std::vector<PingRun>& runs() const { return runs_; }

  private:
    void next() {
        if (seq_ >= o_.warmup + o_.count) {
            start();
        } else {
            send();
        }
    }
    void send() {
        waiting_ = true;
        sent_at_ = Clock::now();
        (void)session_.put(kPingKey, payload_);
        timeout_ = loop_.add_timer(std::chrono::milliseconds(o_.timeout_ms), [this] {
            waiting_ = false;
            if (seq_ >= o_.warmup) {
                ++runs_.back().lost;
            }
            ++seq_;
            next();
        });
    }

    zenoh::EventLoop& loop_;
    zenoh::Session& session_;
    const PingOptions& o_;
    std::vector<PingRun> runs_;
    std::vector<uint8_t> payload_;
    size_t next_size_ = 0;
    uint64_t seq_ = 0;
    bool waiting_ = false;
    Clock::time_point sent_at_;
    zenoh::EventLoop::TimerId timeout_ = 0;
};

void run_ping(const PingOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh ping");
    warn_if_isolated(config, "dora zenoh ping");
    ZenohRuntime rt = open_zenoh(std::move(config));
    Pinger pinger(*rt.loop, *rt.session, o);
    auto id =
        rt.session->declare_subscriber(kPongKey, [&](const zenoh::Sample&) { pinger.on_pong(); });
    if (!id) {
        throw Exception(id.error());
    }
    when_ready(
        *rt.loop, [&] { return rt.session->has_remote_subscriber(kPingKey); },
        Clock::now() + std::chrono::milliseconds(o.wait_ms), [&] { pinger.start(); });
    uint64_t rounds = (o.count + o.warmup) * o.sizes.size();
    auto limit = std::chrono::milliseconds(o.wait_ms) +
                 std::chrono::milliseconds(o.timeout_ms) * rounds + 10s;
    run_zenoh_loop(*rt.loop, std::chrono::duration_cast<std::chrono::milliseconds>(limit));
    fmt::print("{:>10} {:>8} {:>6} {:>10} {:>10} {:>10} {:>10}\n", "size (B)", "samples", "lost",
               "p50 (us)", "p90 (us)", "p99 (us)", "max (us)");
    for (const auto& run : pinger.runs()) {
        fmt::print("{:>10} {:>8} {:>6} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f}\n", run.size,
                   run.rtt_us.size(), run.lost, percentile(run.rtt_us, 0.5),
                   percentile(run.rtt_us, 0.9), percentile(run.rtt_us, 0.99),
                   percentile(run.rtt_us, 1.0));
    }
    fmt::print("(round-trip times; one-way latency is about half)\n");
}

void run_pong(const ListenOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh pong");
    warn_if_isolated(config, "dora zenoh pong");
    ZenohRuntime rt = open_zenoh(std::move(config));
    uint64_t answered = 0;
    auto id = rt.session->declare_subscriber(kPingKey, [&](const zenoh::Sample& s) {
        (void)rt.session->put(kPongKey, s.put.payload);
        if (o.count != 0 && ++answered >= o.count) {
            stop_when_flushed(*rt.loop, *rt.session);
        }
    });
    if (!id) {
        throw Exception(id.error());
    }
    fmt::print("answering {} on {}\n", kPingKey, kPongKey);
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
}

// ---- scout ----

struct ScoutOptions {
    ZenohCliOptions zenoh;
    unsigned timeout_ms = 1000;
    std::string what = "router|peer";
};

void run_scout(const ScoutOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh scout");
    auto has = [&](std::string_view word) { return o.what.find(word) != std::string::npos; };
    auto what = static_cast<uint8_t>(zenoh::flag_if(has("router"), zenoh::kWhatRouter) |
                                     zenoh::flag_if(has("peer"), zenoh::kWhatPeer) |
                                     zenoh::flag_if(has("client"), zenoh::kWhatClient));
    if (what == 0) {
        throw Exception(Error::make("--what '{}': expected router, peer and/or client", o.what));
    }
    auto loop = zenoh::EventLoop::create();
    if (!loop) {
        throw Exception(loop.error());
    }
    std::set<std::string> found;
    zenoh::ScouterOptions options;
    options.multicast = config.multicast;
    options.scout_what = what;
    options.on_hello = [&](const zenoh::Hello& hello, std::string_view from) {
        if (!found.insert(hello.zid.to_string()).second) {
            return;  // SCOUT is repeated: each answer is listed once
        }
        std::string locators;
        for (const auto& l : hello.locators) {
            locators += (locators.empty() ? "\"" : ", \"") + l + "\"";
        }
        fmt::print("Hello {{ zid: {}, whatami: \"{}\", locators: [{}] }} from {}\n",
                   hello.zid.to_string(), zenoh::to_string(hello.whatami), locators, from);
        std::fflush(stdout);
    };
    auto scouter = zenoh::Scouter::start(**loop, std::move(options));
    if (!scouter) {
        throw Exception(scouter.error().context("dora zenoh scout"));
    }
    fmt::print(stderr, "Scouting on {} (interface {}) for {} ms...\n", config.multicast.address,
               config.multicast.interface, o.timeout_ms);
    run_zenoh_loop(**loop, std::chrono::milliseconds(o.timeout_ms));
    if (found.empty()) {
        fmt::print("Did not find any zenoh process.\n");
    }
}

}  // namespace

void add_zenoh_command(CLI::App& app) {
    auto* group = app.add_subcommand("zenoh", "Zenoh tools: sub, pub, ping, pong, scout");
    group->require_subcommand(1);

    auto sub = std::make_shared<ListenOptions>();
    auto* s = group->add_subcommand("sub", "Print what is published on a key expression");
    s->add_option("KEYEXPR", sub->key, "Key expression, e.g. 'dora/**'")->required();
    add_zenoh_options(s, sub->zenoh);
    s->add_option("-n,--count", sub->count, "Exit after this many samples (0: no limit)");
    s->add_option("--seconds", sub->seconds, "Exit after this many seconds (0: no limit)");
    s->callback([sub] { run_sub(*sub); });

    auto pub = std::make_shared<PubOptions>();
    auto* p = group->add_subcommand("pub", "Publish a value on a key");
    p->add_option("KEY", pub->key, "Key, e.g. demo/example")->required();
    p->add_option("VALUE", pub->value, "Payload (text)")->required();
    add_zenoh_options(p, pub->zenoh);
    p->add_option("-n,--count", pub->count, "How many times to publish")->capture_default_str();
    p->add_option("--period", pub->period_ms, "Milliseconds between puts")->capture_default_str();
    p->add_option("--attach", pub->attachment, "Attachment (text)");
    p->add_option("--wait", pub->wait_ms,
                  "Milliseconds to wait for a subscriber before the first put")
        ->capture_default_str();
    p->callback([pub] { run_pub(*pub); });

    auto ping = std::make_shared<PingOptions>();
    auto* pi = group->add_subcommand("ping", "Round-trip times against `dora zenoh pong`/z_pong");
    add_zenoh_options(pi, ping->zenoh);
    pi->add_option("-s,--size", ping->sizes, "Payload size in bytes (repeatable)")
        ->capture_default_str();
    pi->add_option("-n,--count", ping->count, "Samples per size")->capture_default_str();
    pi->add_option("-w,--warmup", ping->warmup, "Unmeasured rounds first")->capture_default_str();
    pi->add_option("--timeout", ping->timeout_ms, "Milliseconds before a ping counts as lost")
        ->capture_default_str();
    pi->add_option("--wait", ping->wait_ms, "Milliseconds to wait for a pong to appear")
        ->capture_default_str();
    pi->callback([ping] { run_ping(*ping); });

    auto pong = std::make_shared<ListenOptions>();
    auto* po = group->add_subcommand("pong", "Answer pings (test/ping -> test/pong)");
    add_zenoh_options(po, pong->zenoh);
    po->add_option("-n,--count", pong->count, "Exit after this many pings (0: no limit)");
    po->add_option("--seconds", pong->seconds, "Exit after this many seconds (0: no limit)");
    po->callback([pong] { run_pong(*pong); });

    auto scout = std::make_shared<ScoutOptions>();
    auto* sc = group->add_subcommand(
        "scout", "Multicast SCOUT and list what answers (run it only where multicast is allowed)");
    add_zenoh_options(sc, scout->zenoh, false);
    sc->add_option("--timeout", scout->timeout_ms, "Milliseconds to listen for HELLOs")
        ->capture_default_str();
    sc->add_option("--what", scout->what, "router, peer and/or client, e.g. router|peer")
        ->capture_default_str();
    sc->callback([scout] { run_scout(*scout); });
}

}  // namespace dora::cli
