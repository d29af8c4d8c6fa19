// `dora zenoh sub|pub|ping|pong|scout` (get, queryable and liveliness: zenoh_query_tools.cpp): the
// Zenoh example tools users of dora are told to build with cargo, over our own session. Flags and
// defaults mirror zenoh's examples (z_sub, z_pub: `-k/--key`, `-v/--value` or `-p/--payload`,
// `-e`, `-l`, `-m`, `-c`; the key may also be the first positional, the value the next), peer
// mode, ZENOH_CONFIG honoured. `sub` with nowhere to connect asks the dora coordinator for the
// daemons' Zenoh endpoints; `pub` without a value publishes stdin, one sample per line. ping/pong
// use the keys test/ping and test/pong like z_ping and z_pong, so they pair with zenoh-pico's.
// Every loop is bounded in count or time, or ends with its input.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <numeric>
#include <set>

#include "cli/cluster_tls.hpp"
#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/error.hpp"
#include "message/cli_to_coordinator.hpp"
#include "zenoh/keyexpr.hpp"
#include "zenoh/scouting.hpp"

namespace dora::cli {
namespace {

using namespace std::chrono_literals;

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

// Calls `then()` once `ready()` holds or `deadline` passed, checking every few ms on the loop.
// Destroying it (or starting it again) cancels the wait.
class WhenReady {
  public:
    void start(EventLoop& loop, std::function<bool()> ready, SteadyClock::time_point deadline,
               std::function<void()> then) {
        timer_.cancel();
        if (ready() || loop.now() >= deadline) {
            then();
            return;
        }
        timer_ = loop.add_periodic(
            5ms, [this, &loop, ready = std::move(ready), deadline, then = std::move(then)] {
                if (ready() || loop.now() >= deadline) {
                    auto next = then;  // then() may start this again, replacing this callback
                    timer_.cancel();
                    next();
                }
            });
    }

  private:
    Timer timer_;
};

// Stops the loop once everything queued was written (or after `limit`).
void stop_when_flushed(WhenReady& waiter, EventLoop& loop, zenoh::Session& session,
                       SteadyClock::duration limit = 2s) {
    waiter.start(
        loop, [&session] { return session.pending_bytes() == 0; }, loop.now() + limit,
        [&loop] { loop.stop(); });
}

// The key from -k/--key or the positional (not two different ones), else zenoh's default.
std::string pick_key(const std::string& flag, const std::string& positional,
                     std::string_view fallback, std::string_view tool) {
    if (!flag.empty() && !positional.empty() && flag != positional) {
        throw Exception(Error::make("{}: two keys given, '{}' (-k) and '{}': give one", tool, flag,
                                    positional));
    }
    if (!flag.empty()) {
        return flag;
    }
    return !positional.empty() ? positional : std::string(fallback);
}

// ---- sub ----

constexpr std::string_view kDefaultSubKey = "demo/example/**";  // z_sub's default

struct SubOptions {
    ZenohCliOptions zenoh;
    std::string key_flag;
    std::string key_positional;
    uint64_t count = 0;
    unsigned seconds = 0;
};

// The Zenoh endpoints ("tcp/IP:port") of the daemons the coordinator knows: the tool's one use of
// the control plane, kept in one place.
Result<std::vector<std::string>> daemon_zenoh_endpoints(const ClientOptions& options) {
    auto client = CoordinatorClient::connect(options);
    if (!client) {
        return fail(client.error());
    }
    auto list =
        client->request<message::DataflowList>(message::CliList{}, std::chrono::seconds(10));
    if (!list) {
        return fail(list.error());
    }
    std::vector<std::string> endpoints;
    for (const auto& daemon : list->daemons) {
        for (const auto& endpoint : daemon.zenoh_endpoints) {
            if (std::find(endpoints.begin(), endpoints.end(), endpoint) == endpoints.end()) {
                endpoints.push_back(endpoint);
            }
        }
    }
    return endpoints;
}

// With nowhere to connect or listen (no -e, -l, config file or multicast), a sub connects to the
// daemons of the dora cluster, as `z_sub 'dora/**'` pointed at them would.
void connect_to_daemons(zenoh::ZenohConfig& config, const SubOptions& o) {
    if (has_config_file(o.zenoh) || !config.connect.empty() || !config.listen.empty() ||
        config.multicast.enabled) {
        return;
    }
    std::string where = fmt::format("{}:{}", o.zenoh.cluster.addr, o.zenoh.cluster.port);
    auto endpoints = daemon_zenoh_endpoints(o.zenoh.cluster);
    if (!endpoints) {
        throw Exception(Error::make(
            "dora zenoh sub: no endpoint given (-e, -l, ZENOH_CONFIG) and no coordinator to ask "
            "for the daemons' Zenoh endpoints: {}\nOr pass -e tcp/IP:PORT (a daemon's or router's "
            "Zenoh endpoint; repeat -e for more) or -l tcp/0.0.0.0:PORT",
            endpoints.error().message()));
    }
    if (endpoints->empty()) {
        throw Exception(Error::make(
            "dora zenoh sub: the coordinator at {} knows no daemon with a Zenoh endpoint: start "
            "one (`dora daemon`), or pass -e tcp/IP:PORT",
            where));
    }
    for (const auto& text : *endpoints) {
        auto endpoint = zenoh::parse_endpoint(text);
        if (endpoint) {
            config.connect.push_back(std::move(*endpoint));
        } else {
            fmt::print(stderr, "dora zenoh sub: the coordinator gave a bad endpoint '{}': {}\n",
                       text, endpoint.error().message());
        }
    }
    std::string list;
    for (const auto& e : config.connect) {
        list += (list.empty() ? "" : ", ") + e.to_string();
    }
    fmt::print(stderr,
               "Connecting to the daemons' Zenoh endpoints (from the coordinator at {}): {}\n",
               where, list);
}

void run_sub(const SubOptions& o) {
    std::string key = pick_key(o.key_flag, o.key_positional, kDefaultSubKey, "dora zenoh sub");
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh sub");
    connect_to_daemons(config, o);
    use_cluster_certificate(config, o.zenoh.cluster, "dora zenoh sub");
    warn_if_isolated(config, "dora zenoh sub");
    ZenohRuntime rt = open_zenoh(std::move(config));
    uint64_t received = 0;
    auto subscription = rt.session->declare_subscriber(key, [&](const zenoh::Sample& s) {
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
    if (!subscription) {
        throw Exception(subscription.error().context("dora zenoh sub"));
    }
    fmt::print(stderr, "Declaring Subscriber on '{}'...\n", key);
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
}

// ---- pub ----

constexpr std::string_view kDefaultPubKey = "demo/example/dora-pub";

struct PubOptions {
    ZenohCliOptions zenoh;
    std::string key_flag;
    std::vector<std::string> positionals;  // [KEY] [VALUE]
    std::string value;
    bool value_given = false;  // -v/-p (which may be empty)
    std::string attachment;
    uint64_t count = 1;
    unsigned period_ms = 1000;
    unsigned wait_ms = 2000;
};

// What to publish, from the flags and the positionals in whatever order they came.
struct PubTarget {
    std::string key;
    std::optional<std::string> value;  // nullopt: read stdin
};

PubTarget pub_target(const PubOptions& o) {
    std::deque<std::string> rest(o.positionals.begin(), o.positionals.end());
    PubTarget target;
    if (!o.key_flag.empty()) {
        target.key = o.key_flag;
    } else if (!rest.empty()) {
        target.key = rest.front();
        rest.pop_front();
    } else {
        target.key = kDefaultPubKey;
    }
    if (o.value_given) {
        target.value = o.value;
    } else if (!rest.empty()) {
        target.value = rest.front();
        rest.pop_front();
    }
    if (!rest.empty()) {
        throw Exception(
            Error::make("dora zenoh pub: unexpected argument '{}' (the key is '{}', the value {})",
                        rest.front(), target.key,
                        target.value ? "'" + *target.value + "'" : std::string("from stdin")));
    }
    if (auto valid = zenoh::keyexpr::validate(target.key); !valid) {
        throw Exception(valid.error().context(fmt::format("dora zenoh pub: key '{}'", target.key)));
    }
    return target;
}

// Lines of standard input, read on the loop as they come (a pipe, a terminal) or all at once (a
// file, which epoll cannot watch). One read() per readiness, on a duplicate of fd 0 left blocking
// (O_NONBLOCK would be shared with the shell's terminal).
class StdinLines {
  public:
    using OnLine = std::function<void(std::string line)>;

    void start(EventLoop& loop, OnLine on_line, std::function<void()> on_eof) {
        on_line_ = std::move(on_line);
        on_eof_ = std::move(on_eof);
        sys::UniqueFd fd(::dup(STDIN_FILENO));
        if (!fd.valid()) {
            throw Exception(sys::errno_error("dora zenoh pub: dup(stdin)"));
        }
        auto watch = loop.watch(std::move(fd), EPOLLIN, [this](uint32_t) { read_once(); });
        if (watch) {
            watch_ = std::move(*watch);
            return;
        }
        if (watch.error().code() != EPERM) {
            throw Exception(watch.error().context("dora zenoh pub: watching stdin"));
        }
        // A regular file or /dev/null: reading never blocks, so read it all now.
        file_ = sys::UniqueFd(::dup(STDIN_FILENO));
        while (!eof_) {
            read_from(file_.get());
        }
    }

  private:
    void read_once() { read_from(watch_.fd()); }

    void read_from(int fd) {
        char chunk[64 * 1024];
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            return;
        }
        if (n <= 0) {
            finish();
            return;
        }
        buffer_.append(chunk, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
            size_t end = nl > start && buffer_[nl - 1] == '\r' ? nl - 1 : nl;
            on_line_(buffer_.substr(start, end - start));
        }
        buffer_.erase(0, start);
    }

    void finish() {
        if (eof_) {
            return;
        }
        eof_ = true;
        watch_.reset();
        if (!buffer_.empty()) {
            on_line_(std::exchange(buffer_, {}));  // a last line without a newline
        }
        on_eof_();
    }

    FdWatch watch_;
    sys::UniqueFd file_;
    std::string buffer_;
    bool eof_ = false;
    OnLine on_line_;
    std::function<void()> on_eof_;
};

void run_pub(const PubOptions& o) {
    PubTarget target = pub_target(o);
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh pub");
    warn_if_isolated(config, "dora zenoh pub");
    ZenohRuntime rt = open_zenoh(std::move(config));
    auto& session = *rt.session;
    auto& loop = *rt.loop;
    std::optional<Error> failure;
    std::optional<zenoh::Bytes> attachment;
    if (!o.attachment.empty()) {
        attachment = zenoh::as_bytes(o.attachment);
    }
    auto put = [&](std::string_view value) {
        fmt::print("Putting Data ('{}': '{}')...\n", target.key, value);
        std::fflush(stdout);
        auto sent = session.put(target.key, zenoh::as_bytes(value), std::nullopt, attachment);
        if (!sent) {
            failure = sent.error();
            loop.stop();
        }
        return sent.has_value();
    };
    WhenReady subscriber_seen;
    WhenReady flushed;
    Timer periodic;
    StdinLines input;
    bool ready = false;
    std::deque<std::string> waiting;  // stdin lines read before the first put may go
    bool input_done = false;
    auto drain_stdin = [&] {
        while (ready && !waiting.empty() && !failure) {
            put(waiting.front());
            waiting.pop_front();
        }
        if (input_done && waiting.empty()) {
            if (ready) {
                stop_when_flushed(flushed, loop, session);
            } else {
                loop.stop();  // the input was empty: nothing to wait for a subscriber for
            }
        }
    };
    uint64_t sent = 0;
    // Publish once someone wants the key, or after --wait anyway (like a zenoh publisher would).
    subscriber_seen.start(
        loop, [&] { return session.has_remote_subscriber(target.key); },
        loop.now() + std::chrono::milliseconds(o.wait_ms),
        [&] {
            ready = true;
            if (!target.value) {
                drain_stdin();
                return;
            }
            auto once = [&] {
                if (!put(*target.value)) {
                    return;
                }
                if (++sent >= o.count) {
                    periodic.cancel();
                    stop_when_flushed(flushed, loop, session);
                }
            };
            once();
            if (sent < o.count && !failure) {
                periodic = loop.add_periodic(std::chrono::milliseconds(o.period_ms), once);
            }
        });
    std::chrono::milliseconds limit{0};
    if (target.value) {
        limit = std::chrono::milliseconds(o.wait_ms + o.period_ms * o.count + 5000);
    } else {
        if (::isatty(STDIN_FILENO) != 0) {
            fmt::print(stderr, "Reading stdin: one sample per line, Ctrl-D to end\n");
        }
        input.start(
            loop,
            [&](std::string line) {
                waiting.push_back(std::move(line));
                drain_stdin();
            },
            [&] {
                input_done = true;
                drain_stdin();
            });
    }
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
    Pinger(EventLoop& loop, zenoh::Session& session, const PingOptions& o)
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
        timeout_.cancel();
        waiting_ = false;
        double us =
            std::chrono::duration<double, std::micro>(SteadyClock::now() - sent_at_).count();
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
        sent_at_ = SteadyClock::now();
        // put() fails only for an invalid key; kPingKey is a constant, valid one.
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

    EventLoop& loop_;
    zenoh::Session& session_;
    const PingOptions& o_;
    std::vector<PingRun> runs_;
    std::vector<uint8_t> payload_;
    size_t next_size_ = 0;
    uint64_t seq_ = 0;
    bool waiting_ = false;
    SteadyClock::time_point sent_at_;  // real time: these are measurements
    Timer timeout_;
};

void run_ping(const PingOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh ping");
    warn_if_isolated(config, "dora zenoh ping");
    ZenohRuntime rt = open_zenoh(std::move(config));
    Pinger pinger(*rt.loop, *rt.session, o);
    auto subscription =
        rt.session->declare_subscriber(kPongKey, [&](const zenoh::Sample&) { pinger.on_pong(); });
    if (!subscription) {
        throw Exception(subscription.error());
    }
    WhenReady pong_seen;
    pong_seen.start(
        *rt.loop, [&] { return rt.session->has_remote_subscriber(kPingKey); },
        rt.loop->now() + std::chrono::milliseconds(o.wait_ms), [&] { pinger.start(); });
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

struct PongOptions {
    ZenohCliOptions zenoh;
    uint64_t count = 0;
    unsigned seconds = 0;
};

void run_pong(const PongOptions& o) {
    auto config = resolve_zenoh_config(o.zenoh, "dora zenoh pong");
    warn_if_isolated(config, "dora zenoh pong");
    ZenohRuntime rt = open_zenoh(std::move(config));
    uint64_t answered = 0;
    WhenReady flushed;
    auto subscription = rt.session->declare_subscriber(kPingKey, [&](const zenoh::Sample& s) {
        // put() fails only for an invalid key; kPongKey is a constant, valid one.
        (void)rt.session->put(kPongKey, s.put.payload);
        if (o.count != 0 && ++answered >= o.count) {
            stop_when_flushed(flushed, *rt.loop, *rt.session);
        }
    });
    if (!subscription) {
        throw Exception(subscription.error());
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
    auto loop = EventLoop::create();
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
    auto* group = app.add_subcommand(
        "zenoh",
        "Zenoh tools: sub, pub, ping, pong, scout, get, queryable, liveliness, sub-liveliness, "
        "get-liveliness");
    group->require_subcommand(1);

    auto sub = std::make_shared<SubOptions>();
    auto* s = group->add_subcommand(
        "sub",
        "Print what is published on a key expression. With no -e, -l, config file or multicast, "
        "connects to the daemons the dora coordinator knows");
    s->add_option("KEYEXPR", sub->key_positional,
                  fmt::format("Key expression, e.g. 'dora/**' (default: {})", kDefaultSubKey));
    s->add_option("-k,--key", sub->key_flag, "Key expression (instead of the positional)");
    add_zenoh_options(s, sub->zenoh);
    s->add_option("-n,--count", sub->count, "Exit after this many samples (0: no limit)");
    s->add_option("--seconds", sub->seconds, "Exit after this many seconds (0: no limit)");
    s->callback([sub] { run_sub(*sub); });

    auto pub = std::make_shared<PubOptions>();
    auto* p = group->add_subcommand(
        "pub",
        "Publish a value on a key; without a value, publish standard input, one sample per line "
        "(as each line arrives, until end of input)");
    p->add_option("KEY VALUE", pub->positionals,
                  fmt::format("Key (default: {}), then the value (text; default: read stdin)",
                              kDefaultPubKey));
    p->add_option("-k,--key", pub->key_flag, "Key (instead of the first positional)");
    auto* value = p->add_option("-v,--value,-p,--payload", pub->value,
                                "Value (instead of the positional); none: read stdin");
    add_zenoh_options(p, pub->zenoh);
    p->add_option("-n,--count", pub->count, "How many times to publish the value")
        ->capture_default_str();
    p->add_option("--period", pub->period_ms, "Milliseconds between puts")->capture_default_str();
    p->add_option("-a,--attach", pub->attachment, "Attachment (text)");
    p->add_option("--wait", pub->wait_ms,
                  "Milliseconds to wait for a subscriber before the first put")
        ->capture_default_str();
    p->callback([pub, value] {
        pub->value_given = value->count() > 0;
        run_pub(*pub);
    });

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

    auto pong = std::make_shared<PongOptions>();
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

    add_zenoh_query_tools(group);  // zenoh_query_tools.cpp
}

}  // namespace dora::cli
