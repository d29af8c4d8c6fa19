#include "cli/zenoh_cli.hpp"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "cli/cluster_tls.hpp"
#include "core/error.hpp"

namespace dora::cli {

void add_zenoh_options(CLI::App* cmd, ZenohCliOptions& options, bool with_mode) {
    cmd->add_option("-c,--config", options.config_file,
                    "Zenoh json5 configuration file (default: $ZENOH_CONFIG if set)");
    if (with_mode) {
        cmd->add_option("-m,--mode", options.mode, "Session mode (default: peer)")
            ->check(CLI::IsMember({"peer", "client", "router"}));
    }
    cmd->add_option("-e,--connect", options.connect,
                    "Endpoint to connect to, e.g. tcp/127.0.0.1:7447 (repeat for more)")
        ->allow_extra_args(false)
        ->type_name("ENDPOINT");
    cmd->add_option("-l,--listen", options.listen,
                    "Endpoint to listen on, e.g. tcp/0.0.0.0:7447 (repeat for more)")
        ->allow_extra_args(false)
        ->type_name("ENDPOINT");
    cmd->add_flag("--no-multicast-scouting", options.no_multicast,
                  "Disable multicast scouting even if the configuration enables it");
    add_client_options(cmd, options.cluster);
}

namespace {

std::vector<zenoh::Endpoint> endpoints(const std::vector<std::string>& texts) {
    std::vector<zenoh::Endpoint> out;
    for (const auto& text : texts) {
        auto ep = zenoh::parse_endpoint(text);
        if (!ep) {
            throw Exception(ep.error());
        }
        out.push_back(std::move(*ep));
    }
    return out;
}

}  // namespace

namespace {

std::string config_file(const ZenohCliOptions& options) {
    if (!options.config_file.empty()) {
        return options.config_file;
    }
    const char* env = std::getenv("ZENOH_CONFIG");
    return env != nullptr ? env : "";
}

}  // namespace

bool has_config_file(const ZenohCliOptions& options) { return !config_file(options).empty(); }

zenoh::ZenohConfig resolve_zenoh_config(const ZenohCliOptions& options, std::string_view tool,
                                        bool cluster_certificate) {
    std::string file = config_file(options);
    zenoh::ZenohConfig config;
    if (!file.empty()) {
        auto loaded = zenoh::load_config(file);
        if (!loaded) {
            throw Exception(loaded.error());
        }
        config = std::move(*loaded);
        if (!config.unknown_keys.empty()) {
            std::string keys;
            for (const auto& k : config.unknown_keys) {
                keys += (keys.empty() ? "" : ", ") + k;
            }
            fmt::print(stderr, "{}: {}: ignoring keys dora-cpp does not use: {}\n", tool, file,
                       keys);
        }
    }
    if (options.mode == "peer") {
        config.mode = zenoh::Mode::kPeer;
    } else if (options.mode == "client") {
        config.mode = zenoh::Mode::kClient;
    } else if (options.mode == "router") {
        config.mode = zenoh::Mode::kRouter;
    }
    if (!options.connect.empty()) {
        config.connect = endpoints(options.connect);
    }
    if (!options.listen.empty()) {
        config.listen = endpoints(options.listen);
    }
    if (options.no_multicast) {
        config.multicast.enabled = false;
    }
    if (cluster_certificate) {
        use_cluster_certificate(config, options.cluster, tool);
    }
    return config;
}

ZenohRuntime open_zenoh(zenoh::ZenohConfig config, bool verbose, bool announce) {
    ZenohRuntime rt;
    auto loop = EventLoop::create();
    if (!loop) {
        throw Exception(loop.error());
    }
    rt.loop = std::move(*loop);
    zenoh::SessionOptions options;
    options.config = std::move(config);
    const std::vector<zenoh::Endpoint> listen = options.config.listen;
    const char* env = std::getenv("DORA_ZENOH_LOG");
    if (!verbose && (env == nullptr || *env == '\0')) {
        // Quiet, except that a tool says once why a link it dialled failed before it was up
        // (a TLS certificate refused, a plain port ...); a router stays quiet about its clients.
        auto said = std::make_shared<std::set<std::string>>();
        options.transport.log = [announce, said](std::string_view line) {
            constexpr std::string_view kFailed = "zenoh transport with (handshake) closed: ";
            if (announce && line.starts_with(kFailed) && said->size() < 16 &&
                said->emplace(line).second) {
                fmt::print(stderr, "{}\n", line);
            }
        };
        // Limits a peer hit are shown all the same (each at most once per second or per link).
        options.transport.warn = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    }
    auto session = zenoh::Session::open(*rt.loop, std::move(options));
    if (!session) {
        throw Exception(session.error());
    }
    rt.session = std::move(*session);
    auto ports = rt.session->listen_ports();
    for (size_t i = 0; announce && i < listen.size() && i < ports.size(); ++i) {
        zenoh::Endpoint ep = listen[i];
        ep.port = ports[i];
        fmt::print(stderr, "listening on {}\n", ep.to_string());
    }
    return rt;
}

bool run_zenoh_loop(EventLoop& loop, std::chrono::milliseconds limit) {
    // The handlers stay registered for the loop's life: the flag is shared with them.
    auto signalled = std::make_shared<bool>(false);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
        loop.on_signal(signal, [&loop, signalled] {
            *signalled = true;
            loop.stop();
        });
    }
    Timer deadline;
    if (limit.count() > 0) {
        deadline = loop.add_timer(limit, [&loop] { loop.stop(); });
    }
    std::fflush(stdout);
    loop.run();
    std::fflush(stdout);
    return *signalled;
}

namespace {

// Length of the UTF-8 sequence at `p` (0 if invalid).
size_t utf8_sequence(std::span<const uint8_t> s, size_t i) {
    uint8_t c = s[i];
    size_t n = 0;
    uint32_t min = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
        return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') && c != 0x7f ? 1 : 0;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, cp = c & 0x07u;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (size_t k = 1; k < n; ++k) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i + k] & 0x3fu);
    }
    bool ok = cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    return ok ? n : 0;
}

}  // namespace

std::string printable_payload(std::span<const uint8_t> bytes) {
    for (size_t i = 0; i < bytes.size();) {
        size_t n = utf8_sequence(bytes, i);
        if (n == 0) {
            return "0x" + zenoh::to_hex(bytes);
        }
        i += n;
    }
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace dora::cli
