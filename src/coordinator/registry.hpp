// The coordinator's daemon registry, without I/O: which daemon serves which machine id, from
// which address, on which connection, with which Zenoh endpoints, and when it was last heard.
// The coordinator feeds it events and asks it questions; it decides nothing about dataflows.
//
// Rules: one connected daemon per machine id (a second is refused while the first is connected);
// a disconnected daemon stays known (shown by `dora list`/`dora check`) until it registers again;
// a daemon silent for longer than the timeout counts as gone.
//
// Thread safety: a plain value used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/descriptor.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "message/common.hpp"

namespace dora::coordinator {

using ConnectionId = uint64_t;

// "the default daemon" for "", else "`edge1`".
[[nodiscard]] std::string machine_name(const std::string& machine);

class DaemonRegistry {
  public:
    struct Daemon {
        std::string machine_id;
        std::string address;  // where it connected from
        std::vector<std::string> zenoh_endpoints;
        std::map<std::string, std::string> labels;
        std::optional<ConnectionId> connection;  // std::nullopt: disconnected
        SteadyClock::time_point last_heard;
        bool unreachable = false;  // connected, but silent for a while (mark_unreachable)
        SteadyClock::time_point silent_since;  // last heard before it was marked
    };
    enum class Registration { kNew, kReconnected };

    // A daemon registers for `machine` on `connection`. Refused (the error is the reason to send
    // it) while another daemon of that machine is connected.
    [[nodiscard]] Result<Registration> add(const std::string& machine, ConnectionId connection,
                                           std::string address,
                                           std::vector<std::string> zenoh_endpoints,
                                           SteadyClock::time_point now,
                                           std::map<std::string, std::string> labels = {});
    // Where each node with `deploy.labels` and no `machine` runs: a connected daemon with every
    // label, the one with the fewest such nodes so far (ties: the first machine id). A node with
    // both must find them on its machine. Fails naming the node, its labels and the daemons'.
    [[nodiscard]] Result<std::map<std::string, std::string>> place_by_labels(
        const Descriptor& descriptor) const;
    // The nodes with `build:`, `git:` or a URL `path` each daemon builds or fetches (by machine; ""
    // the default daemon): a node on its machine, a node placed by labels on every connected daemon
    // with them (the placement happens at start; whichever daemon it picks has the build). Fails
    // like place_by_labels.
    [[nodiscard]] Result<std::map<std::string, std::vector<std::string>>> build_placement(
        const Descriptor& descriptor) const;
    void heard_from(const std::string& machine, SteadyClock::time_point now);
    // The daemon of `machine` lost `connection`; false when that was not its connection.
    bool disconnected(const std::string& machine, ConnectionId connection);
    // Every daemon counts as disconnected (destroy gave up waiting for them).
    void disconnect_all();

    [[nodiscard]] std::optional<ConnectionId> connection_of(const std::string& machine) const;
    [[nodiscard]] bool connected(const std::string& machine) const {
        return connection_of(machine).has_value();
    }
    // True once a daemon of `machine` has registered (with this coordinator: it keeps no state
    // across its own restarts), connected now or not.
    [[nodiscard]] bool known(const std::string& machine) const {
        return daemons_.count(machine) != 0;
    }
    [[nodiscard]] std::vector<std::string> connected_machines() const;
    // Connections of connected daemons not heard from for longer than `timeout`.
    [[nodiscard]] std::vector<ConnectionId> silent(SteadyClock::time_point now,
                                                   SteadyClock::duration timeout) const;
    // Connected daemons silent for longer than `after` and not marked yet: marked unreachable now.
    [[nodiscard]] std::vector<std::string> mark_unreachable(SteadyClock::time_point now,
                                                            SteadyClock::duration after);
    // Clears the mark (call after heard_from); returns how long it was silent when it was marked.
    [[nodiscard]] std::optional<SteadyClock::duration> mark_reachable(const std::string& machine);
    // "" when each of `machines` has a connected daemon, else what to start where.
    [[nodiscard]] std::string missing_daemons_error(const std::set<std::string>& machines) const;
    // Every daemon other than `machine`'s, with its endpoints (what a daemon dials).
    [[nodiscard]] std::vector<message::DaemonInfo> peers_of(const std::string& machine) const;
    // Every daemon, as `dora list` shows them.
    [[nodiscard]] std::vector<message::DaemonInfo> list(SteadyClock::time_point now) const;
    // "\n  edge1: connected\n  cloud: disconnected" for `dora check`.
    [[nodiscard]] std::string summary() const;

  private:
    // The machines that may run `node`: its machine, or every connected daemon with its labels.
    [[nodiscard]] Result<std::vector<std::string>> candidates(const NodeDescriptor& node,
                                                              const Deploy& deploy) const;
    // "`edge` (zone=edge), ...": every connected daemon with its labels, for refusals.
    [[nodiscard]] std::string daemons_with_labels_text() const;

    std::map<std::string, Daemon> daemons_;
};

}  // namespace dora::coordinator
