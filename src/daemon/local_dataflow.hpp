// One dataflow's nodes on this machine: shared memory set-up, spawning, output capture and log
// files, timers, exit handling (INPUT_CLOSED to consumers, reclaiming what a dead node held),
// stop with a grace duration, and the per-node results.
//
// `dora run` drives one LocalDataflow; the distributed daemon drives one per running dataflow
// with the same code, plus remote routing on top.
//
// Lifecycle: create() plans and creates the shared memory (nothing runs yet: the "prepare" phase
// of a two-phase start); start() spawns every node and starts the timers; stop() asks every node
// to stop and kills those still running after the grace duration; on_finished fires once every
// node has exited. A node whose restart_policy applies is spawned again (with a short backoff) in
// place of reporting its exit; its consumers see no INPUT_CLOSED in between. Destroying a
// LocalDataflow kills whatever still runs and removes its shared memory.
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/hlc.hpp"
#include "daemon/dataflow_plan.hpp"
#include "daemon/input_timeouts.hpp"
#include "daemon/log_file.hpp"
#include "daemon/proc_stats.hpp"
#include "daemon/watched_process.hpp"
#include "message/drops.hpp"
#include "message/node_config.hpp"
#include "message/node_config_file.hpp"
#include "message/node_stats.hpp"
#include "shm/pool.hpp"
#include "shm/region.hpp"

namespace dora::daemon {

inline constexpr std::chrono::seconds kDefaultGraceDuration{15};
inline constexpr size_t kStderrTailLines = 10;

struct NodeResult {
    std::string node_id;
    bool success = false;
    std::string status;  // "exited with status 0", "was killed by signal 9 (SIGKILL)"
    bool killed_after_grace = false;
    std::vector<std::string> stderr_tail;
    int exit_code = -1;  // its exit status when its process exited normally, else -1
};

struct LocalDataflowOptions {
    std::string dataflow_id;
    // Signs the ends of this machine's output streams (message/data_keys.hpp): the daemon's key;
    // a new one when unset (`dora run`).
    std::shared_ptr<const message::StreamEndSigner> stream_end_signer;
    // Node id -> the stream-end public key of the daemon that runs it, for nodes on other
    // machines (PrepareDataflow::stream_end_keys): an end of stream from such a node is accepted
    // only when it verifies with its key. Every remote producer a local node consumes needs one.
    std::map<std::string, std::string> producer_stream_end_keys;
    std::string machine_id;
    std::chrono::nanoseconds grace = kDefaultGraceDuration;
    int64_t spin_ns = 50'000;
    // The largest message that may cross to another machine (transport.link.rx.max_message_size
    // of the daemon's ZENOH_CONFIG): producers of outputs consumed there are told.
    uint64_t max_remote_message_size = zenoh::kDefaultMaxMessageSize;
    // Extra environment for every node (e.g. PYTHONPATH for the matching dora package).
    std::map<std::string, std::string> extra_env;
    // Which nodes run here (all when unset).
    std::function<bool(const NodeDescriptor&)> is_local;
    // Every output can be watched (make_plan's `watchable`): a daemon's dataflows.
    bool watchable = false;
    // A line the node wrote: stream is "stdout" or "stderr"; "dora" for the runtime's own notes.
    std::function<void(const std::string& node, std::string_view stream, std::string_view line)>
        on_log;
    std::function<void()> on_finished;
    // A node joined its dataflow (its process opened the node API): dora's "node is ready".
    std::function<void(const std::string& node)> on_node_ready;
    // Dynamic nodes (`path: dynamic`) join through a daemon's local listen port; `dora run` has
    // none, and refuses them (this is false there).
    bool dynamic_nodes = false;
    // A dynamic node is "waiting", has "joined" or "left".
    std::function<void(const std::string& node, const char* status)> on_dynamic_status;
    // What a dynamic node's process is told to use to join ("<id>" is replaced by the node id).
    std::string dynamic_join_hint;
    // Where the nodes' configuration files go (node_config_file.hpp): a directory per dataflow is
    // made in it. Empty: $XDG_RUNTIME_DIR/dora, else /tmp/dora-<uid>.
    std::filesystem::path runtime_dir;
};

class LocalDataflow {
  public:
    [[nodiscard]] static Result<std::unique_ptr<LocalDataflow>> create(
        EventLoop& loop, const Descriptor& descriptor, LocalDataflowOptions options);
    ~LocalDataflow();
    LocalDataflow(const LocalDataflow&) = delete;
    LocalDataflow& operator=(const LocalDataflow&) = delete;

    // Spawns every node. If one cannot be spawned, those already spawned are stopped and the
    // error names the node.
    [[nodiscard]] Result<> start();
    // Sends STOP to every node; kills the survivors after `grace` (the option's by default).
    void stop(std::optional<std::chrono::nanoseconds> grace = std::nullopt);
    // Kills every node now (dynamic nodes are not ours to kill: they only get STOP).
    void kill_all();

    // Dynamic nodes. join_dynamic gives the configuration the node's process opens the node API
    // with; it fails with a message for the process when `node_id` is not a dynamic node of this
    // dataflow on this machine, or is not waiting to join (already joined, or gone).
    // dynamic_left reports that the joined process disconnected (it exited): its outputs close
    // and what it held is reclaimed, as for a spawned node's exit.
    [[nodiscard]] bool has_node(const std::string& node_id) const;  // on this machine
    [[nodiscard]] Result<message::NodeConfig> join_dynamic(const std::string& node_id);
    void dynamic_left(const std::string& node_id);
    // Dynamic nodes that have not joined yet.
    [[nodiscard]] std::vector<std::string> waiting_dynamic_nodes() const;
    // Nodes whose process this daemon started (and that have not exited yet).
    [[nodiscard]] size_t running_processes() const;

    [[nodiscard]] bool finished() const { return finished_; }
    [[nodiscard]] const std::vector<NodeResult>& results() const { return results_; }
    [[nodiscard]] const DataflowPlan& plan() const { return plan_; }
    // For remote routing: the input region of plan node `node`, and the egress region (null when
    // no output leaves this machine). They live as long as this object.
    [[nodiscard]] shm::Region& region(size_t node) { return regions_[node]; }
    [[nodiscard]] shm::Region* egress_region() { return egress_.valid() ? &egress_ : nullptr; }
    [[nodiscard]] const std::string& id() const { return options_.dataflow_id; }
    // Dropped inputs per "node/input", read from the rings.
    [[nodiscard]] std::map<std::string, uint64_t> dropped_inputs() const;
    // Every drop counted here so far: the input queues (place input_queue) and the queues to
    // other machines (egress); nonzero counts only.
    [[nodiscard]] std::vector<message::DropCount> drops() const;
    // What each node of this machine is doing now (message/node_stats.hpp): its state, its
    // process's use from /proc (CPU % through `cpu`), its queues' counts
    // (local_dataflow_stats.cpp). `now_ns` is CLOCK_BOOTTIME. Drops at ingress and on the link are
    // the ZenohBridge's to add.
    [[nodiscard]] std::vector<message::NodeStats> stats(CpuMeter& cpu, uint64_t now_ns) const;

    // A node's lifecycle on this machine. The allowed transitions are in one place
    // (LocalDataflow::set_phase):
    //   kPending    -> kRunning (spawned) | kWaiting (dynamic: started, waiting for its process)
    //                  | kExited (the dataflow stopped before it started)
    //   kWaiting    -> kRunning (its process joined) | kExited (stopped before it joined)
    //   kRunning    -> kExited (its exit is final) | kRestarting (restart_policy applies)
    //   kRestarting -> kRunning (spawned again) | kExited (stopped meanwhile, or respawn failed)
    enum class NodePhase { kPending, kWaiting, kRunning, kRestarting, kExited };
    [[nodiscard]] static const char* phase_name(NodePhase phase);

  private:
    struct NodeState {
        size_t index = 0;
        std::string id;
        NodePhase phase = NodePhase::kPending;
        std::unique_ptr<WatchedProcess> process;  // while kRunning (null for a dynamic node)
        bool dynamic = false;                     // `path: dynamic`: started by the user
        bool killed_after_grace = false;
        uint16_t generation = 0;          // incremented at each restart; names its pool's segments
        uint32_t restarts = 0;            // in all
        uint32_t restarts_in_window = 0;  // since window_start (restart_window)
        SteadyClock::time_point window_start{};
        int last_status = 0;  // wait status of the last exit
        Timer restart_timer;
        std::filesystem::path working_dir;
        LogFile log;
        std::deque<std::string> stderr_tail;
        std::vector<uint64_t> reported_drops;  // per input
        std::vector<uint64_t> reported_waits;  // per input: backpressure waits of its senders
        bool ready_reported = false;           // this incarnation joined and was reported
    };

    LocalDataflow(EventLoop& loop, const Descriptor& descriptor, LocalDataflowOptions options);
    [[nodiscard]] Result<> prepare();
    [[nodiscard]] Result<> spawn(NodeState& node);
    void set_phase(NodeState& node, NodePhase to);
    void on_line(NodeState& node, std::string_view stream, std::string_view line);
    void on_exit(NodeState& node, int status);
    [[nodiscard]] bool should_restart(const NodeState& node, bool success) const;
    void restart(NodeState& node);
    [[nodiscard]] SteadyClock::duration restart_delay(const NodeState& node) const;
    void finish_node(NodeState& node, NodeResult result);
    void close_outputs_of(const NodeState& node);
    void reclaim_inputs_of(const NodeState& node);
    void on_timer(std::chrono::nanoseconds interval);
    // Sends `text` as a one-string UTF-8 array on `output` of `node`, on the node's behalf
    // (send_stdout_as, send_logs_as); a full queue drops its oldest message, counted.
    void send_text_as(const NodeState& node, const std::string& output, std::string_view text);
    // min_log_level and send_logs_as: false when the line is left out.
    bool route_log_line(const NodeState& node, std::string_view stream, std::string_view line);
    void start_input_timeouts();
    void on_input_timeout(const WatchedInput& input);
    void report_drops(NodeState& node);
    // Drops in the queues to other machines (the egress rings), reported on the producer's log.
    void report_egress_drops();
    // Reports nodes that joined since the last look; true while a running node has not joined.
    bool check_ready();
    void check_finished();
    void note(const std::string& node, std::string_view text);
    [[nodiscard]] message::NodeConfig config_for(const NodeState& node) const;
    [[nodiscard]] message::NodeStats stats_of(const NodeState& node, CpuMeter& cpu,
                                              uint64_t now_ns) const;
    void watch_for_ready();

    EventLoop& loop_;
    const Descriptor& descriptor_;
    LocalDataflowOptions options_;
    DataflowPlan plan_;
    std::vector<shm::Region> regions_;   // by plan node index
    message::NodeConfigDir config_dir_;  // node configuration files; removed with the dataflow
    shm::Region egress_;                 // one ring per plan_.egress stream
    std::vector<uint64_t> reported_egress_waits_;  // per egress stream: its producer's waits
    std::vector<NodeState> nodes_;
    std::unique_ptr<shm::Pool> daemon_pool_;
    HlcClock clock_;  // stamps what the daemon sends on a node's behalf (send_stdout_as)
    std::unique_ptr<shm::SegmentCache> cache_;
    std::vector<Timer> timers_;
    std::unique_ptr<InputTimeouts> input_timeouts_;
    Timer grace_timer_;
    Timer drop_timer_;
    std::vector<uint64_t> reported_egress_drops_;  // per egress stream
    Timer ready_timer_;  // looks for joining nodes often for a while after a spawn
    std::vector<NodeResult> results_;
    bool started_ = false;
    bool stopping_ = false;
    bool finished_ = false;
};

}  // namespace dora::daemon
