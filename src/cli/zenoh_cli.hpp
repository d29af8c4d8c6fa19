// What `dora router` and the `dora zenoh` tools share: the Zenoh options every one of them takes
// (`--config`, `-m`, `-e`, `-l`, `--no-multicast-scouting`, ZENOH_CONFIG honoured the way zenoh's
// examples do), and running the process's event loop until Ctrl-C / SIGTERM / SIGHUP or a
// deadline.
//
// Errors are thrown as dora::Exception (this is the CLI edge).
//
// Thread safety: CLI start-up and the loop thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/coordinator_client.hpp"
#include "core/event_loop.hpp"
#include "zenoh/config.hpp"
#include "zenoh/session.hpp"

namespace dora::cli {

struct ZenohCliOptions {
    std::string config_file;  // else ZENOH_CONFIG, else defaults
    std::string mode;         // peer|client|router; empty: the config's (default peer)
    std::vector<std::string> connect;
    std::vector<std::string> listen;
    bool no_multicast = false;
    // The coordinator that issues the cluster's certificates (with a cluster token).
    ClientOptions cluster;
};

// Adds --config/-c, --mode/-m (unless `with_mode` is false), --connect/-e, --listen/-l,
// --no-multicast-scouting and the coordinator's --coordinator-addr/--coordinator-port/--token-file
// to `cmd`. -e and -l take one endpoint per occurrence (repeat them), so
// they never swallow the positionals that follow, as in zenoh's examples.
void add_zenoh_options(CLI::App* cmd, ZenohCliOptions& options, bool with_mode = true);

// Whether a config file is in play: --config, or ZENOH_CONFIG set.
[[nodiscard]] bool has_config_file(const ZenohCliOptions& options);

// The config file (or ZENOH_CONFIG) with the command-line options on top: `-e` and `-l` replace
// the file's lists, `-m` its mode. Unknown keys are reported once on stderr. With a cluster token
// and a tls/ endpoint but no TLS keys of the user's, a client certificate of the cluster CA
// (cluster_tls.hpp) unless `cluster_certificate` is false. Throws on errors.
[[nodiscard]] zenoh::ZenohConfig resolve_zenoh_config(const ZenohCliOptions& options,
                                                      std::string_view tool,
                                                      bool cluster_certificate = true);

// The process's event loop and a session on it (the session is destroyed first).
struct ZenohRuntime {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<zenoh::Session> session;
};
// Creates the loop (which blocks SIGINT/SIGTERM/SIGHUP for this thread: call it before any
// blocking work that Ctrl-C should interrupt, and before starting threads) and opens a session
// with `config` (throws on errors), then says on stderr what it listens on (real ports).
// Transport log lines (links opening and closing) go to stderr only when `verbose` is set or
// DORA_ZENOH_LOG is set; otherwise, with `announce` (the tools, not the router), only why a link
// failed during its handshake, once per distinct reason.
[[nodiscard]] ZenohRuntime open_zenoh(zenoh::ZenohConfig config, bool verbose = false,
                                      bool announce = true);

// Runs the loop until it is stopped (signal or code) or `limit` passed (zero: no limit).
// Returns true when it stopped because of SIGINT, SIGTERM or SIGHUP.
bool run_zenoh_loop(EventLoop& loop, std::chrono::milliseconds limit);

// "text" when the bytes are valid UTF-8 without control characters other than tab, else
// "0x<hex>" (what the sub tool prints).
[[nodiscard]] std::string printable_payload(std::span<const uint8_t> bytes);

// `dora zenoh get|queryable|liveliness|sub-liveliness|get-liveliness` (zenoh_query_tools.cpp),
// added to the `dora zenoh` group.
void add_zenoh_query_tools(CLI::App* group);

}  // namespace dora::cli
