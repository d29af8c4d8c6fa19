// `dora router`: a Zenoh router (the Session in router mode) through which zenoh-pico clients,
// Zenoh tools and dora daemons in client mode exchange data (DESIGN.md sections 2 and 6).
// Listens on tcp/0.0.0.0:7447 unless told otherwise; multicast scouting only if the config
// enables it. Runs until Ctrl-C or SIGTERM.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/error.hpp"

namespace dora::cli {
namespace {

struct RouterCliOptions {
    ZenohCliOptions zenoh;
    unsigned seconds = 0;
    bool verbose = false;
};

void run_router(const RouterCliOptions& cli) {
    zenoh::ZenohConfig config = resolve_zenoh_config(cli.zenoh, "dora router");
    config.mode = zenoh::Mode::kRouter;
    if (config.listen.empty()) {
        config.listen.push_back(*zenoh::parse_endpoint("tcp/0.0.0.0:7447"));
    }
    auto listen = config.listen;
    auto multicast = config.multicast;
    ZenohRuntime rt = open_zenoh(std::move(config), cli.verbose, false);
    auto ports = rt.session->listen_ports();
    fmt::print("dora router {} (zid {})\n", version_text(), rt.session->zid().to_string());
    for (size_t i = 0; i < listen.size() && i < ports.size(); ++i) {
        zenoh::Endpoint ep = listen[i];
        ep.port = ports[i];
        fmt::print("listening on {}\n", ep.to_string());
    }
    if (multicast.enabled) {
        fmt::print("multicast scouting on {} (interface {})\n", multicast.address,
                   multicast.interface);
    } else {
        fmt::print("multicast scouting off\n");
    }
    run_zenoh_loop(*rt.loop, std::chrono::seconds(cli.seconds));
    fmt::print("dora router stopped\n");
}

}  // namespace

void add_router_command(CLI::App& app) {
    auto options = std::make_shared<RouterCliOptions>();
    auto* cmd = app.add_subcommand(
        "router", "Run a Zenoh router (zenoh-pico clients, Zenoh tools and daemons meet here)");
    add_zenoh_options(cmd, options->zenoh, false);
    cmd->add_option("--seconds", options->seconds,
                    "Stop after this many seconds (0: run until "
                    "Ctrl-C)");
    cmd->add_flag("-v,--verbose", options->verbose, "Log every link that opens or closes");
    cmd->callback([options] { run_router(*options); });
}

}  // namespace dora::cli
