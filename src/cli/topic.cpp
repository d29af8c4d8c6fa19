// `dora topic list|echo|hz|info`: the outputs of a running dataflow, seen through a Watch
// (cli/watch.hpp): the CLI finds the daemons through the coordinator and subscribes; the owning
// daemon publishes an output only while such a watcher subscribes. Works the same for outputs
// consumed on their own machine (shared memory) and across machines.
//
// list: every output with its machine and subscribers, and (unless --no-sample) the Arrow type
//       and rate seen over a short sampling window.
// echo: decoded values (text, JSON pretty or --compact, primitive arrays with their type, bytes as
//       a hex preview), --metadata, --count N, --duration S, --format json (one object per line).
// hz:   per topic, once a second: rate and min/max/std dev of the intervals between messages
//       (from their HLC timestamps) over a --window of seconds, like `ros2 topic hz`.
// info: type, publisher, subscribers, key, message count, rate, bandwidth and sizes over a window.
//
// A watcher that falls behind misses messages (the daemon keeps 4 per output for watchers; the
// dataflow is not affected): hz and info count what arrived.
#include <cmath>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/watch.hpp"
#include "message/arrow_json.hpp"

namespace dora::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct TopicOptions {
    ClientOptions client;
    std::string dataflow;
    std::vector<std::string> positionals;
};

void add_common(CLI::App* cmd, TopicOptions& o, const char* positional_help) {
    cmd->add_option("-d,--dataflow", o.dataflow, "Dataflow UUID or name");
    cmd->add_option("args", o.positionals, positional_help);
    add_client_options(cmd, o.client);
}

struct Resolved {
    WatchedDataflow dataflow;
    std::vector<const Topic*> topics;
};

Resolved resolve(TopicOptions& o, bool need_topic) {
    split_dataflow_and_topics(o.dataflow, o.positionals);
    if (need_topic && o.positionals.empty()) {
        throw Exception(Error::make("{}", "say which output: NODE/OUTPUT (see `dora topic list`)"));
    }
    Resolved r{describe_dataflow(o.client, o.dataflow), {}};
    r.topics = select_topics(r.dataflow, o.positionals);
    return r;
}

std::chrono::milliseconds seconds_option(double seconds) {
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// ---- values ------------------------------------------------------------------------------------

constexpr size_t kHexPreviewBytes = 32;

std::string hex_preview(std::span<const std::byte> data, size_t max) {
    std::string out;
    for (size_t i = 0; i < std::min(max, data.size()); ++i) {
        out += fmt::format("{}{:02x}", i == 0 ? "" : " ", static_cast<unsigned>(data[i]));
    }
    if (data.size() > max) {
        out += " …";
    }
    return out;
}

// The human form of one message (may span lines: pretty JSON).
std::string value_text(const Arrival& a, bool compact) {
    const auto& info = a.metadata->type_info;
    const std::string type = message::arrow_type_name(info);
    if (auto text = message::message_text(info, a.data)) {
        // Text (a string, or bytes that are UTF-8): JSON pretty (or compact), else as it is.
        const auto first = text->find_first_not_of(" \t\r\n");
        if (first != std::string::npos && ((*text)[first] == '{' || (*text)[first] == '[')) {
            json parsed = json::parse(*text, nullptr, false);
            if (!parsed.is_discarded()) {
                return compact ? parsed.dump() : parsed.dump(2);
            }
        }
        return *text;
    }
    if (info.format == "C" && !info.dictionary && info.null_count == 0 &&
        message::check_layout(info, a.data.size())) {
        // Raw bytes (what send_output of a bytes value gives): a hex preview.
        const size_t start = info.buffers[1].offset + static_cast<size_t>(info.offset);
        const auto length = static_cast<size_t>(info.length);
        return fmt::format("bytes[{}] {}", length,
                           hex_preview(a.data.subspan(start, length), kHexPreviewBytes));
    }
    auto rendered = message::arrow_to_json(info, a.data, {.max_elements = 32});
    if (!rendered) {
        return fmt::format("<{} that cannot be read: {}>", type, rendered.error().message());
    }
    const json& v = rendered->value;
    return fmt::format("{}[{}] {}", type, info.length, v.dump());
}

json value_json(const WatchedDataflow& d, const Arrival& a, bool with_metadata) {
    json j = {{"dataflow", d.description.dataflow_id},
              {"node", a.topic.node},
              {"output", a.topic.output},
              {"machine", a.topic.machine},
              {"received_ns",
               std::chrono::duration_cast<std::chrono::nanoseconds>(a.received.time_since_epoch())
                   .count()}};
    if (a.end_of_stream) {
        j["end_of_stream"] = true;
        return j;
    }
    if (!a.metadata) {
        j["error"] = a.error;
        return j;
    }
    const auto& info = a.metadata->type_info;
    j["timestamp_ns"] = a.metadata->timestamp.time_ns;
    j["type"] = message::arrow_type_name(info);
    j["length"] = info.length;
    j["bytes"] = a.data.size();
    if (auto rendered = message::arrow_to_json(info, a.data)) {
        j["value"] = std::move(rendered->value);
        if (rendered->truncated) {
            j["truncated"] = true;
        }
    } else {
        j["error"] = rendered.error().message();
    }
    if (auto text = message::message_text(info, a.data)) {
        j["text"] = *text;  // a string, or bytes that are UTF-8 text
    }
    if (with_metadata) {
        j["metadata"] = message::parameters_to_json(a.metadata->parameters);
    }
    return j;
}

// ---- echo --------------------------------------------------------------------------------------

struct EchoOptions {
    TopicOptions topic;
    std::string format = "text";
    bool metadata = false;
    bool compact = false;
    uint64_t count = 0;
    double duration = 0;
};

void echo(EchoOptions& o) {
    auto r = resolve(o.topic, false);
    uint64_t shown = 0;
    std::unique_ptr<Watch> watch;
    watch = Watch::open(r.dataflow, r.topics, [&](const Arrival& a) {
        if (o.count > 0 && shown >= o.count) {
            return;  // arrived in the same batch as the last one wanted
        }
        if (o.format == "json") {
            std::cout << value_json(r.dataflow, a, o.metadata)
                             .dump(-1, ' ', false, json::error_handler_t::replace)
                      << "\n";
        } else if (a.end_of_stream) {
            std::cout << a.topic.name() << ": (end of stream: the node's output closed)\n";
        } else if (!a.metadata) {
            std::cout << a.topic.name() << ": <" << a.error << ">\n";
        } else {
            std::string text = value_text(a, o.compact);
            std::cout << a.topic.name() << (text.find('\n') != std::string::npos ? ":\n" : ": ")
                      << text << "\n";
            if (o.metadata) {
                std::cout << "  metadata: "
                          << message::parameters_to_json(a.metadata->parameters).dump()
                          << "  timestamp: " << to_string(a.metadata->timestamp) << "\n";
            }
        }
        std::cout.flush();
        if (!a.end_of_stream && a.metadata) {
            ++shown;
        }
        if (o.count > 0 && shown >= o.count) {
            watch->stop();
        }
    });
    std::cerr << "watching " << r.topics.size() << " output(s) of " << r.dataflow.label()
              << " (Ctrl-C to stop)\n";
    watch->run(seconds_option(o.duration));
}

// ---- statistics over a window (hz, info, list) -------------------------------------------------

struct Window {
    std::deque<std::pair<Clock::time_point, uint64_t>> arrivals;  // (arrival, HLC ns)
    std::deque<std::pair<Clock::time_point, size_t>> sizes;
    uint64_t total = 0;
    std::string type;
    bool ended = false;

    void add(const Arrival& a) {
        if (a.end_of_stream) {
            ended = true;
            return;
        }
        if (!a.metadata) {
            return;
        }
        const auto now = Clock::now();
        arrivals.emplace_back(now, a.metadata->timestamp.time_ns);
        sizes.emplace_back(now, a.data.size());
        ++total;
        type = message::arrow_type_name(a.metadata->type_info);
    }
    void trim(Clock::duration span) {
        const auto cut = Clock::now() - span;
        while (!arrivals.empty() && arrivals.front().first < cut) arrivals.pop_front();
        while (!sizes.empty() && sizes.front().first < cut) sizes.pop_front();
    }
};

struct IntervalStats {
    size_t n = 0;  // intervals
    double mean = 0, min = 0, max = 0, stddev = 0;
};

IntervalStats intervals(const Window& w) {
    IntervalStats s;
    std::vector<double> d;
    for (size_t i = 1; i < w.arrivals.size(); ++i) {
        const uint64_t a = w.arrivals[i - 1].second;
        const uint64_t b = w.arrivals[i].second;
        d.push_back(b >= a ? static_cast<double>(b - a) / 1e9 : 0.0);
    }
    s.n = d.size();
    if (d.empty()) {
        return s;
    }
    s.min = *std::min_element(d.begin(), d.end());
    s.max = *std::max_element(d.begin(), d.end());
    for (double x : d) s.mean += x;
    s.mean /= static_cast<double>(d.size());
    for (double x : d) s.stddev += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(s.stddev / static_cast<double>(d.size()));
    return s;
}

struct HzOptions {
    TopicOptions topic;
    double window = 10;
    double duration = 0;
};

void hz(HzOptions& o) {
    if (o.window <= 0) {
        throw Exception(Error::make("{}", "--window must be more than 0 seconds"));
    }
    auto r = resolve(o.topic, false);
    std::vector<Window> windows(r.topics.size());
    auto watch = Watch::open(r.dataflow, r.topics, [&](const Arrival& a) {
        for (size_t i = 0; i < r.topics.size(); ++i) {
            if (r.topics[i] == &a.topic) windows[i].add(a);
        }
    });
    const auto span =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.window));
    auto print = [&] {
        for (size_t i = 0; i < r.topics.size(); ++i) {
            windows[i].trim(span);
            const IntervalStats s = intervals(windows[i]);
            if (s.n == 0 || s.mean <= 0) {
                std::cout << r.topics[i]->name() << ": no new messages"
                          << (windows[i].ended ? " (its output closed)" : "") << "\n";
                continue;
            }
            std::cout << fmt::format(
                "{}: average rate: {:.3f} Hz\n\tmin: {:.6f}s max: {:.6f}s std dev: {:.6f}s "
                "window: {}\n",
                r.topics[i]->name(), 1.0 / s.mean, s.min, s.max, s.stddev, s.n + 1);
        }
        std::cout.flush();
    };
    Timer every = watch->loop().add_periodic(std::chrono::seconds(1), print);
    std::cerr << "measuring " << r.topics.size() << " output(s) of " << r.dataflow.label()
              << " over " << o.window << " s windows (Ctrl-C to stop)\n";
    watch->run(seconds_option(o.duration));
}

// ---- info --------------------------------------------------------------------------------------

struct InfoOptions {
    TopicOptions topic;
    double duration = 2;
};

void info(InfoOptions& o) {
    auto r = resolve(o.topic, true);
    std::vector<Window> windows(r.topics.size());
    auto watch = Watch::open(r.dataflow, r.topics, [&](const Arrival& a) {
        for (size_t i = 0; i < r.topics.size(); ++i) {
            if (r.topics[i] == &a.topic) windows[i].add(a);
        }
    });
    watch->run(seconds_option(o.duration));
    for (size_t i = 0; i < r.topics.size(); ++i) {
        const Topic& t = *r.topics[i];
        const Window& w = windows[i];
        std::string subscribers;
        for (const auto& s : t.subscribers) subscribers += (subscribers.empty() ? "" : ", ") + s;
        size_t bytes = 0, min_size = SIZE_MAX, max_size = 0;
        for (const auto& [at, size] : w.sizes) {
            bytes += size;
            min_size = std::min(min_size, size);
            max_size = std::max(max_size, size);
        }
        const IntervalStats s = intervals(w);
        std::cout << fmt::format(
            "Topic: {}\nDataflow: {}\nKey: {}\nPublisher: {} (machine {})\nSubscribers: {}\n"
            "Type: {}\nMessages in {} s: {}\nRate: {}\nBandwidth: {}/s\nSize: {}\n",
            t.name(), r.dataflow.label(), t.key, t.node,
            t.machine.empty() ? "(default)" : t.machine, subscribers.empty() ? "none" : subscribers,
            w.type.empty() ? "unknown (no message seen)" : w.type, o.duration, w.total,
            s.mean > 0 ? fmt::format("{:.3f} Hz", 1.0 / s.mean) : "-",
            byte_size_text(static_cast<double>(bytes) / o.duration),
            w.sizes.empty() ? "-"
                            : fmt::format("{} .. {}", byte_size_text(static_cast<double>(min_size)),
                                          byte_size_text(static_cast<double>(max_size))));
        if (w.ended) std::cout << "State: its output closed (the node finished)\n";
        if (i + 1 < r.topics.size()) std::cout << "\n";
    }
}

// ---- list --------------------------------------------------------------------------------------

struct ListOptions {
    TopicOptions topic;
    std::string format = "table";
    bool no_sample = false;
    double duration = 1;
};

void list(ListOptions& o) {
    split_dataflow_and_topics(o.topic.dataflow, o.topic.positionals);
    if (!o.topic.positionals.empty()) {
        throw Exception(Error::make("`dora topic list` takes a dataflow only, not `{}`",
                                    o.topic.positionals.front()));
    }
    auto d = describe_dataflow(o.topic.client, o.topic.dataflow);
    auto topics = select_topics(d, {});
    std::vector<Window> windows(topics.size());
    if (!o.no_sample) {
        auto watch = Watch::open(d, topics, [&](const Arrival& a) {
            for (size_t i = 0; i < topics.size(); ++i) {
                if (topics[i] == &a.topic) windows[i].add(a);
            }
        });
        watch->run(seconds_option(o.duration));
    }
    auto rate = [&](size_t i) -> std::string {
        if (o.no_sample) return "";
        const IntervalStats s = intervals(windows[i]);
        return s.mean > 0 ? fmt::format("{:.1f} Hz", 1.0 / s.mean) : "-";
    };
    if (o.format == "json") {
        for (size_t i = 0; i < topics.size(); ++i) {
            const Topic& t = *topics[i];
            json j = {{"node", t.node},
                      {"name", t.output},
                      {"machine", t.machine},
                      {"subscribers", t.subscribers},
                      {"key", t.key}};
            if (!o.no_sample) {
                const IntervalStats s = intervals(windows[i]);
                j["type"] = windows[i].type.empty() ? json(nullptr) : json(windows[i].type);
                j["rate_hz"] = s.mean > 0 ? json(1.0 / s.mean) : json(nullptr);
                j["messages_seen"] = windows[i].total;
            }
            std::cout << j.dump() << "\n";
        }
        return;
    }
    size_t wt = 5, wm = 7, wy = 4;
    for (size_t i = 0; i < topics.size(); ++i) {
        wt = std::max(wt, topics[i]->name().size());
        wm = std::max(wm, topics[i]->machine.size());
        wy = std::max(wy, windows[i].type.size());
    }
    std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>10}  {}\n", "TOPIC", wt, "MACHINE", wm,
                             "TYPE", wy, "RATE", "SUBSCRIBERS");
    for (size_t i = 0; i < topics.size(); ++i) {
        const Topic& t = *topics[i];
        std::string subscribers;
        for (const auto& s : t.subscribers) subscribers += (subscribers.empty() ? "" : ", ") + s;
        std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>10}  {}\n", t.name(), wt,
                                 t.machine.empty() ? "(default)" : t.machine, wm,
                                 windows[i].type.empty() ? "-" : windows[i].type, wy, rate(i),
                                 subscribers.empty() ? "-" : subscribers);
    }
}

}  // namespace

void add_topic_command(CLI::App& app) {
    auto* topic = app.add_subcommand(
        "topic", "See a running dataflow's outputs: list, echo, hz, info (local and remote alike)");
    topic->require_subcommand(1);

    auto lo = std::make_shared<ListOptions>();
    auto* l = topic->add_subcommand("list", "Every output: machine, type, rate, subscribers");
    add_common(l, lo->topic, "DATAFLOW (UUID or name; optional with one running)");
    l->add_option("--format", lo->format, "table or json (one object per line)")
        ->check(CLI::IsMember({"table", "json"}));
    l->add_flag("--no-sample", lo->no_sample,
                "Do not watch the outputs for their type and rate (the descriptor's view only)");
    l->add_option("--duration", lo->duration, "Seconds to sample type and rate (default 1)")
        ->check(CLI::PositiveNumber);
    l->callback([lo] { list(*lo); });

    auto eo = std::make_shared<EchoOptions>();
    auto* e = topic->add_subcommand("echo", "Print the messages of outputs, decoded");
    add_common(e, eo->topic, "[DATAFLOW] NODE/OUTPUT... (every output when none)");
    e->add_option("--format", eo->format, "text or json (one object per message per line)")
        ->check(CLI::IsMember({"text", "json"}));
    e->add_flag("--metadata", eo->metadata, "Show each message's parameters and timestamp");
    e->add_flag("--compact", eo->compact, "JSON text on one line");
    e->add_option("--count", eo->count, "Exit after N messages")->check(CLI::PositiveNumber);
    e->add_option("--duration", eo->duration, "Exit after S seconds")->check(CLI::PositiveNumber);
    e->callback([eo] { echo(*eo); });

    auto ho = std::make_shared<HzOptions>();
    auto* h = topic->add_subcommand("hz", "Message rate and interval statistics, once a second");
    add_common(h, ho->topic, "[DATAFLOW] NODE/OUTPUT... (every output when none)");
    h->add_option("--window", ho->window, "Sliding window in seconds (default 10)")
        ->check(CLI::PositiveNumber);
    h->add_option("--duration", ho->duration, "Exit after S seconds")->check(CLI::PositiveNumber);
    h->callback([ho] { hz(*ho); });

    auto io = std::make_shared<InfoOptions>();
    auto* i = topic->add_subcommand("info", "Type, publisher, subscribers and statistics");
    add_common(i, io->topic, "[DATAFLOW] NODE/OUTPUT...");
    i->add_option("--duration", io->duration, "Seconds to measure (default 2)")
        ->check(CLI::PositiveNumber);
    i->callback([io] { info(*io); });

    auto* pub = topic->add_subcommand("pub", "(dora 1.x) not supported");
    pub->allow_extras();
    pub->callback([] {
        throw Exception(Error::make(
            "{}",
            "`dora topic pub` is not supported: dora-cpp delivers an output only from the node "
            "that declares it; use `dora zenoh pub` for raw Zenoh puts"));
    });
}

}  // namespace dora::cli
