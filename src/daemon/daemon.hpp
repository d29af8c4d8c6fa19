// `dora daemon`: one per machine. Registers with the coordinator under a machine id, prepares
// and spawns its machine's part of each dataflow (LocalDataflow, two-phase), streams node output
// to the coordinator, reports results, serves `dora logs`, `dora build` and node statistics
// (`dora node list`, `dora top`: sampled only when asked, daemon_stats.cpp), and keeps its nodes
// running while the coordinator is away (reconnecting forever, re-announcing what it runs).
//
// Nothing here blocks the loop: builds run as watched child processes (BuildRunner), node
// processes likewise (LocalDataflow), the coordinator link is non-blocking.
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/acceptor.hpp"
#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "daemon/build_runner.hpp"
#include "daemon/certificate_keeper.hpp"
#include "daemon/coordinator_link.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/proc_stats.hpp"
#include "daemon/zenoh_bridge.hpp"
#include "deploy/manifest.hpp"
#include "message/channel.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "message/data_keys.hpp"

namespace dora::daemon {

struct DaemonOptions {
    std::string machine_id;                     // "" = the default daemon
    std::map<std::string, std::string> labels;  // `--labels`: nodes' `deploy.labels` match them
    std::string coordinator_addr = "127.0.0.1";
    uint16_t coordinator_port = 53290;
    uint16_t local_listen_port = 53291;
    std::optional<std::string> token;
    std::filesystem::path work_dir;  // per-dataflow dirs for dataflows started elsewhere
    // How many copies of finished dataflows' shipped files stay in work_dir (prune_copies).
    size_t keep_copies = 3;
    std::string dora_version;
    std::map<std::string, std::string> extra_node_env;  // e.g. PYTHONPATH
    // Zenoh between machines: ZENOH_CONFIG's content, or peer mode on tcp/0.0.0.0:0.
    zenoh::ZenohConfig zenoh;
    // Coordinator link tuning (tests shorten the heartbeat).
    std::chrono::milliseconds heartbeat_interval{500};
    std::chrono::milliseconds silence_limit{10000};
    // Instead of TCP to coordinator_addr:port (tests: one end of a socketpair per attempt).
    std::function<Result<sys::UniqueFd>()> coordinator_connector;
    // With a token: validity in days asked for the daemon's certificate (0: the coordinator's
    // default), and who hears when it is issued or renewed (certificate_keeper.hpp).
    int certificate_days = 0;
    std::function<void(const Credentials&)> on_certificate;
    // Where the daemon's own lines go (default: stderr, prefixed "[daemon] ").
    std::function<void(const std::string&)> log;
};

class Daemon {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Daemon>> create(EventLoop& loop,
                                                                DaemonOptions options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    void start();
    // Stops every dataflow (grace), cancels builds, and then stops the loop (SIGINT/SIGTERM,
    // `dora destroy`).
    void shut_down(std::chrono::nanoseconds grace);

    // A dataflow's lifecycle on this machine. The allowed transitions are in one place
    // (Daemon::set_phase):
    //   kPreparing -> kPrepared (routing ready, "prepared" reported)
    //   kPrepared  -> kRunning (spawned)
    //   kRunning   -> kStopping (stop requested) | kFinished (every node exited)
    //   kStopping  -> kFinished
    // A dataflow stopped before it was spawned (kPreparing or kPrepared) is dropped: nothing ran.
    enum class Phase { kPreparing, kPrepared, kRunning, kStopping, kFinished };
    [[nodiscard]] static const char* phase_name(Phase phase);

    // This daemon's key, certificate and the cluster CA, once the coordinator issued them (only
    // with a cluster token); renewed before they expire.
    [[nodiscard]] std::optional<Credentials> credentials() const;
    // Where other machines reach this daemon's Zenoh session ("tls/host:port" with a token).
    [[nodiscard]] const std::vector<std::string>& zenoh_endpoints() const {
        return bridge_->endpoints();
    }

  private:
    struct Dataflow {
        std::string id;
        std::string name;
        Descriptor descriptor;
        // How the coordinator started it (told again to a coordinator that restarted); its
        // descriptor text is let go once the dataflow has ended and been reported.
        message::PrepareDataflow started;
        std::unique_ptr<LocalDataflow> local;
        Phase phase = Phase::kPreparing;
        Timer routing_timeout;             // while kPreparing: stops waiting for remote subscribers
        uint64_t reported_drop_total = 0;  // what the last DataflowDrops said, in all
        CpuMeter cpu;                      // its nodes' CPU % windows (ReadStats)
    };

    Daemon(EventLoop& loop, DaemonOptions options);
    void say(std::string_view text) const;
    void listen_for_dynamic_nodes();
    // A dynamic node's process on the local listen port: one request ("dynamic_node", its id),
    // answered with its configuration or a refusal; the connection then stays open while the
    // process lives, and its end is the node's exit.
    void on_join_request(uint64_t join, const nlohmann::json& request);
    void on_join_closed(uint64_t join);
    [[nodiscard]] Result<message::NodeConfig> join_dynamic(uint64_t join,
                                                           const std::string& node_id,
                                                           const std::string& dataflow);
    [[nodiscard]] std::string dynamic_join_hint() const;
    void set_phase(Dataflow& dataflow, Phase to);
    void on_connected();
    // After the registration: what a restarted coordinator needs to adopt what runs here.
    void report_dataflows(const std::set<std::string>& unreported);
    void send_report(const Dataflow& flow);
    void on_message(message::CoordinatorToDaemon message);
    void handle(const message::Peers& m);
    void handle(const message::PrepareDataflow& m);
    void handle(const message::SpawnDataflow& m);
    void handle(const message::StopDataflow& m);
    void handle(const message::ReadLogs& m);
    void handle(const message::BuildNodes& m);
    void handle(const message::DestroyDaemon& m);
    void handle(const message::CoordinatorHeartbeat& m);
    void handle(const message::RemoteNodesLost& m);
    void handle(const message::ErrorMessage& m);
    // daemon_stats.cpp: `dora node list`, `dora top`.
    void handle(const message::ReadStats& m);
    void handle(const message::CertificateReply& m);
    // daemon_files.cpp: the files that travel with a dataflow started on another machine. A
    // PrepareDataflow with files is answered with FilesNeeded (what the store under the work
    // directory lacks); chunks arrive as FileChunk; once every file is stored, they are copied
    // into the dataflow's directory under the work directory and the preparation goes on there.
    void handle(const message::FileChunk& m);
    void receive_files_then_prepare(const message::PrepareDataflow& request);
    // Called once every file of a transfer is in the store, with how many were received.
    using FilesReady = std::function<void(const deploy::Manifest& manifest, uint64_t received_files,
                                          uint64_t received_bytes)>;
    // Answers FilesNeeded for the manifest `files` of `transfer` (a start's dataflow id, a
    // build's transfer id; `what` names it in messages: "dataflow <id>"), then `ready` once
    // they are stored (at once when the store has them all). `refused(why)`, after an empty
    // FilesNeeded, when the manifest or the store cannot be used.
    void receive_files(const std::string& transfer, const std::string& what,
                       const nlohmann::json& files, FilesReady ready,
                       const std::function<void(const std::string&)>& refused);
    void files_ready(const message::PrepareDataflow& request, const deploy::Manifest& manifest,
                     uint64_t received_files, uint64_t received_bytes);
    // The copies of shipped files (`<work dir>/<dataflow id>`, each recorded by its manifest in
    // `<work dir>/manifests/<dataflow id>.json`; or made empty, `--no-ship`) of dataflows that
    // are not running or being prepared here: the options_.keep_copies most recently finished stay
    // (their logs with them), older ones are removed, then every stored file that no remaining copy
    // (nor a transfer under way) uses. Said in the daemon's log. At start and after each finish.
    void prune_copies();
    // load_descriptor, then fetch_then_prepare; a failure is the PrepareDataflow's answer.
    void load_then_prepare(const message::PrepareDataflow& request);
    [[nodiscard]] std::vector<message::NodeStats> stats_of(Dataflow& flow, uint64_t now_ns) const;
    // Reports dataflow `id` prepared once every output consumed on other machines has its
    // subscriber there, or once `give_up` (the wait's deadline passed). Called when it was
    // prepared locally and again whenever the session's remote subscribers change.
    void await_routing(const std::string& id, bool give_up = false);
    void drop(const std::string& id);
    void finish_ready_dataflows();
    [[nodiscard]] Result<Descriptor> load_descriptor(
        const std::string& dataflow_id, const std::string& yaml, const std::string& path,
        const std::string& cli_machine, const std::map<std::string, std::string>& placement);
    [[nodiscard]] bool is_local(const Descriptor& descriptor, const NodeDescriptor& node) const;
    // daemon_build.cpp: builds, clones and downloads (daemon/node_source.hpp).
    // A build whose files travelled runs in a fresh copy of them,
    // `<work dir>/builds/<hash of the CLI's machine and dataflow path>`; a later start of that
    // dataflow gets what the build made there besides its files (add_build_outputs).
    [[nodiscard]] std::filesystem::path build_copy_dir(const std::string& cli_machine,
                                                       const std::string& descriptor_path) const;
    // Runs the build of `request`, in `copy` when not empty (else as before file shipping).
    void build(const message::BuildNodes& request, const std::filesystem::path& copy);
    // Where the dataflow's git clones live on this machine.
    [[nodiscard]] std::filesystem::path clone_root(const Descriptor& descriptor,
                                                   const std::string& cli_machine) const;
    // The clones among `steps` that a running dataflow runs from, one line each ("" if none).
    [[nodiscard]] std::string clones_in_use(const std::vector<BuildRunner::Step>& steps) const;
    // Downloads the local URL nodes' files that are not cached yet, then prepare()s.
    void fetch_then_prepare(const message::PrepareDataflow& request, Descriptor descriptor);
    // Points git and URL nodes at their files; checks that every local node can start.
    [[nodiscard]] Result<> check_local_nodes(Descriptor& descriptor,
                                             const std::string& cli_machine) const;
    void prepare(const message::PrepareDataflow& request, Descriptor descriptor);
    void finished(const std::string& dataflow_id);
    // Every drop of a dataflow on this machine so far (its queues, then routing).
    [[nodiscard]] std::vector<message::DropCount> drops_of(const Dataflow& flow) const;
    // Once a second: DataflowDrops for each running dataflow whose drops grew (`dora list`).
    void send_drops();
    void maybe_exit();

    EventLoop& loop_;
    DaemonOptions options_;
    std::unique_ptr<ZenohBridge> bridge_;
    std::unique_ptr<CoordinatorLink> link_;
    std::unique_ptr<CertificateKeeper> certificates_;  // with a token only
    // Signs the ends of this machine's output streams; made at start, its public half goes to the
    // coordinator in every registration (message/data_keys.hpp).
    std::shared_ptr<const message::StreamEndSigner> stream_end_signer_;
    std::unique_ptr<BuildRunner> builds_;
    std::map<std::string, std::unique_ptr<Dataflow>> dataflows_;
    // Finished dataflows whose finish the coordinator has not heard yet (reported again at the
    // next registration), whole; dropped once reported.
    std::map<std::string, std::unique_ptr<Dataflow>> archived_;
    // Where the log files of finished dataflows are, for `dora logs` after the end: the last
    // kKeptFinishedLogs dataflows (oldest first in finished_order_), a few paths each, so that a
    // daemon running dataflow after dataflow keeps a bounded amount of memory.
    struct FinishedLogs {
        std::filesystem::path dir;                                // most nodes' working dir
        std::map<std::string, std::filesystem::path> other_dirs;  // nodes elsewhere
    };
    std::map<std::string, FinishedLogs> finished_logs_;
    std::deque<std::string> finished_order_;
    static constexpr size_t kKeptFinishedLogs = 256;
    void remember_logs(const Dataflow& flow);
    [[nodiscard]] std::optional<std::filesystem::path> log_file(const std::string& dataflow_id,
                                                                const std::string& node_id) const;
    // Finished while the coordinator was unreachable: their finish message waits in the link's
    // queue, so the next registration still lists them (else they would count as lost).
    std::vector<std::string> unreported_finishes_;
    // The last results sent (oldest first), sent again after each registration: a coordinator
    // that restarted needs them for dataflows that still run elsewhere.
    std::deque<message::DataflowFinishedOnMachine> recent_finishes_;
    static constexpr size_t kRecentFinishes = 16;
    std::unique_ptr<Acceptor> local_listener_;
    uint16_t local_port_ = 0;  // bound local listen port (0: none)
    struct DynamicJoin {
        std::unique_ptr<message::Channel> channel;
        std::string dataflow_id;  // once joined
        std::string node_id;
    };
    std::map<uint64_t, DynamicJoin> joins_;
    uint64_t next_join_ = 0;
    std::vector<uint64_t> closed_joins_;  // destroyed by reap_joins_ (not inside their handlers)
    Deferred reap_joins_;
    Deferred finish_pending_;  // LocalDataflow::on_finished: report at the end of the iteration
    Timer drops_timer_;        // send_drops
    bool shutting_down_ = false;
    // Dataflows whose downloads run before they are prepared; true once stopped meanwhile.
    std::map<std::string, bool> fetching_;
    // Dataflows and builds whose files are arriving (daemon_files.cpp), by transfer id.
    struct Incoming {
        std::string what;  // "dataflow <id>", "build <transfer>"
        deploy::Manifest manifest;
        std::map<std::string, uint64_t> missing;  // sha256 -> size, not stored yet
        uint64_t received_files = 0;
        uint64_t received_bytes = 0;
        FilesReady ready;  // e.g. prepares the dataflow in its copy
    };
    std::map<std::string, Incoming> incoming_;
    std::optional<deploy::FileStore> file_store_;  // <work dir>/files, opened when first needed
};

}  // namespace dora::daemon
