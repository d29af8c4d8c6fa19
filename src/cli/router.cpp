// `dora router`: a Zenoh router (the Session in router mode) through which zenoh-pico clients,
// Zenoh tools and dora daemons in client mode exchange data (DESIGN.md sections 2 and 6).
// Listens on tcp/0.0.0.0:7447 unless told otherwise; multicast scouting only if the config
// enables it. Runs until Ctrl-C or SIGTERM.
//
// With a cluster token (and no TLS keys of the user's) the router is part of the cluster's TLS:
// it listens on tls/0.0.0.0:7447 by default, refuses tcp/ endpoints, and presents a certificate
// of the cluster CA (asked for at start, renewed before it expires) naming the addresses it
// listens on (every interface's for 0.0.0.0) and each --name; every client must present one of
// the cluster too (mutual TLS).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/cluster_tls.hpp"
#include "cli/commands.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/error.hpp"
#include "message/auth.hpp"
#include "pki/ca.hpp"
#include "pki/certificate.hpp"
#include "pki/names.hpp"

namespace dora::cli {
namespace {

struct RouterCliOptions {
    ZenohCliOptions zenoh;
    std::vector<std::string> names;  // more certificate names (a public DNS name or address)
    unsigned seconds = 0;
    bool verbose = false;
};

// The names of the router's certificate: --name values, then the hosts it listens on (every
// interface's addresses for an unspecified one), as many as a certificate takes.
CertificateAsk router_ask(const RouterCliOptions& cli, const zenoh::ZenohConfig& config) {
    CertificateAsk ask{"dora-router", {}, 0};
    auto add = [&ask](const std::string& name) {
        if (std::find(ask.alt_names.begin(), ask.alt_names.end(), name) == ask.alt_names.end() &&
            ask.alt_names.size() < pki::kMaxAltNames) {
            ask.alt_names.push_back(name);
        }
    };
    for (const auto& name : cli.names) {
        if (auto ok = pki::check_name(name); !ok) {
            throw Exception(
                ok.error().context(fmt::format("--name {}", pki::printable_name(name))));
        }
        add(name);
    }
    for (const auto& endpoint : config.listen) {
        if (endpoint.host == "0.0.0.0" || endpoint.host == "::") {
            for (const auto& address : interface_addresses()) add(address);
        } else if (pki::check_name(endpoint.host)) {
            add(endpoint.host);
        }
    }
    return ask;
}

void run_router(const RouterCliOptions& cli) {
    zenoh::ZenohConfig config = resolve_zenoh_config(cli.zenoh, "dora router", false);
    config.mode = zenoh::Mode::kRouter;
    const bool cluster = config.tls == zenoh::TlsKeys{} &&
                         or_throw(message::load_token(cli.zenoh.cluster.token_file.empty()
                                                          ? std::nullopt
                                                          : std::optional<std::filesystem::path>(
                                                                cli.zenoh.cluster.token_file)))
                             .has_value();
    if (config.listen.empty()) {
        config.listen.push_back(
            *zenoh::parse_endpoint(cluster ? "tls/0.0.0.0:7447" : "tcp/0.0.0.0:7447"));
    }
    std::optional<ClusterCertificate> held;
    CertificateAsk ask;
    if (cluster) {
        or_throw(zenoh::check_cluster_endpoints(config, "dora router"));
        ask = router_ask(cli, config);
        held = or_throw(request_cluster_certificate(cli.zenoh.cluster, ask));
        if (!held) {
            throw Exception(Error::make("dora router: the cluster token went away while starting"));
        }
        config.tls = held->tls_keys();
        config.tls_only = true;
    }
    auto listen = config.listen;
    auto multicast = config.multicast;
    ZenohRuntime rt = open_zenoh(std::move(config), cli.verbose, false);
    std::unique_ptr<CertificateRenewal> renewal;
    if (held) {
        std::string names;
        for (const auto& n : ask.alt_names) names += (names.empty() ? "" : ", ") + n;
        fmt::print(
            "TLS with mutual authentication under the cluster CA: certificate `{}` for {} "
            "(valid until {}; renewed before)\n",
            ask.name, names, pki::utc_text(held->not_after));
        zenoh::Session* session = rt.session.get();
        renewal = std::make_unique<CertificateRenewal>(
            *rt.loop, cli.zenoh.cluster, ask, *held,
            [session](const ClusterCertificate& renewed) {
                if (auto ok = session->set_tls(renewed.tls_keys()); !ok) {
                    fmt::print(stderr, "dora router: the renewed certificate cannot be used: {}\n",
                               ok.error().message());
                    return;
                }
                fmt::print("certificate renewed (valid until {})\n",
                           pki::utc_text(renewed.not_after));
                std::fflush(stdout);
            },
            [](const std::string& line) { fmt::print(stderr, "dora router: {}\n", line); });
    }
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
    cmd->add_option("--name", options->names,
                    "With a cluster token: another name (DNS name or address, e.g. the public "
                    "one) for the router's certificate; clients must dial one of its names "
                    "(repeatable)");
    cmd->callback([options] { run_router(*options); });
}

}  // namespace dora::cli
