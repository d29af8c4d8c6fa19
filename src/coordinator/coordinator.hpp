// The dora coordinator: the control plane's hub. It accepts daemons (default port 53290) and CLIs
// (control port 6012), keeps the daemon registry (registry.hpp) and the dataflows (uuid v7, name,
// descriptor, per-machine nodes, results; finished ones archived), runs the two-phase start
// (PrepareDataflow to every involved daemon, SpawnDataflow once all are prepared), fans node logs
// out to attached CLIs and `dora logs --follow`, and relays stop, logs, build, check and destroy
// requests, and gathers node statistics from the daemons on demand (`dora node list`, `dora top`:
// stats.cpp). The data plane never passes through it.
//
// Every connection is a message::Channel. Before its hello a connection may send little
// (kMaxPreHelloBytes) and has a deadline (hello_timeout), and the connections not past their hello
// are capped in all and per source address (`pending`, shared by both ports; the newest over a
// cap is closed); accept errors (out of descriptors) pause accepting instead of spinning
// (core/acceptor.hpp). After the hello, each message is decoded once into its direction's variant
// (message::DaemonToCoordinator or message::CliRequest) and handled by the overload for its type.
//
// Contract with daemons beyond the message definitions (see DESIGN.md section 5):
//  - a daemon registers once per connection; a second daemon with the same machine id is refused
//    while the first is connected; the registry keeps a disconnected daemon (shown in list/check)
//    until it re-registers;
//  - DaemonRegister.running_dataflows lists every dataflow the daemon still runs or whose
//    DataflowFinishedOnMachine it has not yet delivered (it sends those right after registering);
//    finished_dataflows lists recent ones it did deliver (it sends their results again); a
//    dataflow the coordinator expected on that machine but not listed is finished there as lost;
//  - after a coordinator restart, a listed dataflow it does not know is adopted as "recovered":
//    the DataflowRunning that follows the registration describes it (name, descriptor, every
//    machine's nodes); machines that ran it and finished before the restart give their results
//    again; a machine whose daemon is back without mentioning it counts as lost; one not back yet
//    is waited for (or counted lost by a stop, as any unreachable machine). Attached CLIs come
//    back with CliAttach;
//  - after DataflowSpawned (either outcome) a daemon eventually sends DataflowFinishedOnMachine;
//    a StopDataflow for a prepared but not spawned dataflow makes the daemon drop it;
//  - any message from a daemon counts as a heartbeat; silence for `unreachable_after` marks it
//    unreachable (attached CLIs of its dataflows get a line naming its nodes, and another when it
//    is heard again); silence for `daemon_timeout` closes the connection and marks the daemon
//    disconnected; its dataflows keep running;
//  - a daemon whose connection closed (its process ended; a partition does not close it) has lost
//    its nodes for good: every other daemon of its running dataflows gets RemoteNodesLost, which
//    closes the inputs fed by those nodes.
//
// With a cluster token and a state directory, the coordinator keeps the cluster CA there
// (pki/ca_store.hpp: created on first start, reused after) and issues certificates to CLIs and
// registered daemons that ask with a signing request (certificates.cpp); each issuance is logged.
// Without a token it has no CA and refuses such requests, saying a token is needed.
//
// Thread safety: everything runs on the EventLoop's thread; the object is not shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/handshake.hpp"
#include "coordinator/registry.hpp"
#include "coordinator/web_view.hpp"
#include "core/acceptor.hpp"
#include "core/event_loop.hpp"
#include "message/channel.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/common.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "pki/ca.hpp"
#include "tls/context.hpp"

namespace dora::coordinator {

struct CoordinatorOptions {
    std::string interface = "0.0.0.0";
    uint16_t port = 53290;
    std::string control_interface = "0.0.0.0";
    uint16_t control_port = 6012;
    bool listen = true;  // false: no sockets (tests and fuzzing hand connections to adopt())
    std::optional<std::string> token;
    std::string dora_version;
    // Heartbeats go both ways every heartbeat_interval. A daemon silent for unreachable_after is
    // shown unreachable (attached CLIs, `dora list`) while its connection stays open; silent for
    // daemon_timeout, its connection is closed and it counts as disconnected.
    std::chrono::milliseconds heartbeat_interval{500};
    std::chrono::milliseconds unreachable_after{1500};
    std::chrono::milliseconds daemon_timeout{10000};
    // How long a daemon whose connection closed has to register again, still running its
    // dataflows, before its nodes count as gone for good (their consumers get INPUT_CLOSED).
    std::chrono::milliseconds gone_grace{2000};
    // A peer has this long to prove itself (its hello), and pending.per_address of them from one
    // address, pending.total in all, may be waiting at once.
    std::chrono::milliseconds hello_timeout{5000};
    PendingLimits pending;
    std::chrono::milliseconds prepare_timeout{60000};
    std::chrono::milliseconds destroy_timeout{30000};
    // `dora node list` / `dora top`: how long the coordinator waits for each daemon's stats; a
    // daemon silent for longer is shown as not answering.
    std::chrono::milliseconds stats_timeout{1000};
    size_t max_archived = 100;
    // The live web view (web_view.hpp) on this host and port (0: any free port); off when unset.
    std::optional<std::pair<std::string, uint16_t>> web;
    // Where the cluster CA lives (ca.key, ca.crt; pki/ca_store.hpp); used only with a token.
    // Empty: no CA (certificate requests are refused).
    std::filesystem::path state_dir;
    int ca_days = 3650;                                   // validity of a CA created here
    int certificate_days = pki::kDefaultCertificateDays;  // when a request does not say
    // Where the coordinator's own log lines go (default: stderr).
    std::function<void(const std::string&)> log;
};

// Before the hello a peer may send at most this much: an unauthenticated peer cannot make the
// coordinator buffer a 16 MiB frame.
inline constexpr size_t kMaxPreHelloBytes = 64 * 1024;

class Coordinator : private WebSource {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Coordinator>> create(EventLoop& loop,
                                                                     CoordinatorOptions options);
    ~Coordinator();
    Coordinator(const Coordinator&) = delete;
    Coordinator& operator=(const Coordinator&) = delete;

    [[nodiscard]] uint16_t daemon_port() const { return daemon_port_; }
    [[nodiscard]] uint16_t control_port() const { return control_port_; }
    // The web view's port; 0 when it is off.
    [[nodiscard]] uint16_t web_port() const { return web_ ? web_->port() : 0; }

    enum class Port { kDaemon, kControl };
    // Serves `fd` as a connection accepted on `port` (the listeners use it; so do tests).
    // `pending` counts it until its hello is accepted.
    void adopt(sys::UniqueFd fd, Port port, std::string peer_address, bool loopback,
               PendingSlot pending = {});

    // True once `dora destroy` has completed; the loop has then been stopped.
    [[nodiscard]] bool destroyed() const { return destroyed_; }
    [[nodiscard]] size_t connection_count() const { return peers_.size(); }

  private:
    struct Peer {
        ConnectionId id = 0;
        Port port = Port::kControl;
        std::unique_ptr<message::Channel> channel;
        std::string address;
        bool loopback = false;
        message::Challenge challenge;
        Timer hello_deadline;
        PendingSlot pending;  // released by the hello
        bool authenticated = false;
        bool closed = false;
        std::string dora_version;            // from its hello
        std::optional<std::string> machine;  // a registered daemon's machine id
        bool silent = false;                 // closed by us for want of heartbeats
    };
    enum class Status { kPreparing, kRunning, kStopping, kFinished, kFailed };
    // The files travelling with a dataflow while it is prepared, or with a build (shipping.cpp):
    // the coordinator relays them chunk by chunk from the CLI to the daemons that lack them,
    // holding only the chunks not yet stored everywhere.
    struct Shipment {
        ConnectionId cli = 0;                  // the CLI that sends them
        std::set<std::string> machines;        // the machines the files go to (their nodes')
        std::set<std::string> awaiting_needs;  // machines that have not said what they lack
        std::map<std::string, std::set<std::string>> wanted;  // sha256 -> machines lacking it
        std::set<std::string> local;            // daemons on the CLI's machine (they need nothing)
        bool asked = false;                     // SendFiles went to the CLI
        std::map<std::string, uint64_t> sizes;  // sha256 -> bytes, from the manifest
        std::set<std::string> delivered;        // files every machine that lacked has stored
        struct Chunk {
            std::set<std::string> machines;  // not stored there yet
            uint64_t end = 0;                // offset after the chunk
        };
        // Chunks relayed and not yet stored by every machine, by (sha256, offset).
        std::map<std::pair<std::string, uint64_t>, Chunk> unacked;
    };
    struct Dataflow {
        std::string id;
        std::string name;
        std::string yaml;
        std::string path;
        std::string cli_machine;
        Status status = Status::kPreparing;
        bool recovered = false;  // adopted from a daemon after a coordinator restart
        bool described = true;   // false while recovered and no daemon has described it yet
        bool strict = false;     // the dataflow's `strict: true`: drops make it fail
        std::map<std::string, std::vector<std::string>> nodes_per_machine;
        std::set<std::string> awaiting_prepared;
        std::set<std::string> awaiting_finished;
        std::vector<message::NodeResultInfo> results;
        std::string error;
        std::optional<int64_t> stop_grace_ms;
        std::set<ConnectionId> attached;
        std::map<std::string, std::set<ConnectionId>> followers;  // node -> `logs --follow`
        std::set<std::string> waiting;  // dynamic nodes not joined yet (DynamicNodeStatus)
        std::set<ConnectionId> stop_waiters;
        Timer prepare_deadline;
        std::optional<Shipment> shipment;
        Timer stop_deadline;  // recovered: how long a stop waits for daemons not back yet
        // Messages each machine dropped (its latest counts: DataflowDrops, then its final ones).
        std::map<std::string, std::vector<message::DropCount>> drops;
        [[nodiscard]] std::vector<message::DropCount> all_drops() const;
        [[nodiscard]] bool active() const {
            return status != Status::kFinished && status != Status::kFailed;
        }
    };
    struct LogRequest {
        ConnectionId cli = 0;
        std::string dataflow_id;
        std::string node_id;
        std::string machine;
        bool follow = false;
    };
    struct BuildJob {
        ConnectionId cli = 0;
        std::set<uint64_t> pending;  // request ids
        bool success = true;
        std::vector<std::string> failures;
        std::string transfer;              // its files' transfer id ("" when none travel)
        std::optional<Shipment> shipment;  // while they travel
    };
    struct BuildRequest {
        uint64_t job = 0;
        std::string machine;
    };
    // One CLI's CliNodeStats while daemons answer (stats.cpp).
    struct StatsRequest {
        ConnectionId cli = 0;
        std::function<void(message::NodeStatsReply)> done;  // instead of a CLI (the web view)
        std::vector<std::string> dataflows;                 // ids
        SteadyClock::time_point asked{};
        std::set<std::string> pending;  // machines asked, not answered yet
        std::map<std::string, message::MachineAnswer> answers;
        std::map<std::string, std::vector<message::DataflowNodeStats>> replies;  // by machine
        Timer deadline;
    };

    Coordinator(EventLoop& loop, CoordinatorOptions options);
    [[nodiscard]] Result<> start_listening();
    void on_accept(net::Accepted accepted, Port port);
    void on_message(ConnectionId id, nlohmann::json message);
    void on_hello(Peer& peer, const nlohmann::json& message);
    void on_closed(ConnectionId id, const std::string& reason);
    void reap_closed();
    void refuse(Peer& peer, const std::string& why);
    void on_heartbeat_tick();
    // A "dora" line about `machine`'s daemon for the attached CLIs of every active dataflow with
    // nodes there; `what(nodes)` gives the text.
    void tell_attached_about(const std::string& machine,
                             const std::function<std::string(const std::string&)>& what);
    // `machine`'s nodes of `dataflow` are gone for good: the other daemons of the dataflow close
    // the inputs those nodes fed.
    void close_inputs_from(const Dataflow& dataflow, const std::string& machine,
                           const std::string& reason);
    // gone_grace after a daemon's connection closed: still not back, its nodes are gone.
    void on_gone_grace_over(const std::string& machine, const std::string& reason);
    void log(const std::string& line) const;
    [[nodiscard]] Peer* peer(ConnectionId id);
    [[nodiscard]] message::Versions versions_of(const Peer& peer) const;
    void send_to(ConnectionId id, const nlohmann::json& message);
    bool send_to_daemon(const std::string& machine, const nlohmann::json& message);

    // Daemons (coordinator.cpp).
    void on_daemon_message(Peer& peer, message::DaemonToCoordinator message);
    void on_register(Peer& peer, const message::DaemonRegister& registration);
    void on_daemon_lost(const std::string& machine, ConnectionId connection,
                        const std::string& reason, bool silent);
    void reconcile(const std::string& machine, const message::DaemonRegister& registration);
    // After a coordinator restart (recovery.cpp): a daemon mentioned dataflow `id`.
    void adopt_dataflow(const std::string& id, const std::string& machine);
    void describe_recovered(Dataflow& dataflow, const message::PrepareDataflow& started);
    // A stop of a recovered dataflow waits (daemon_timeout) for machines whose daemon has not
    // registered since the restart; then they count as lost.
    void await_returning_machines(Dataflow& dataflow, const std::vector<std::string>& machines);
    void attach_cli(Dataflow& dataflow, ConnectionId cli);
    void broadcast_peers();
    void on_destroy(ConnectionId cli);
    void maybe_finish_destroy();

    // What each daemon message does (dataflows.cpp, recovery.cpp and requests.cpp).
    void handle(const std::string& machine, const message::DaemonRegister& m);
    void handle(const std::string& machine, const message::DataflowRunning& m);
    void handle(const std::string& machine, const message::DaemonHeartbeat& m);
    void handle(const std::string& machine, const message::DataflowPrepared& m);
    void handle(const std::string& machine, const message::DataflowSpawned& m);
    void handle(const std::string& machine, message::DaemonLog& m);
    void handle(const std::string& machine, message::DynamicNodeStatus& m);
    void handle(const std::string& machine, message::DataflowFinishedOnMachine& m);
    void handle(const std::string& machine, message::DataflowDrops& m);
    void handle(const std::string& machine, message::DaemonLogsReply& m);
    void handle(const std::string& machine, message::DaemonBuildOutput& m);
    void handle(const std::string& machine, const message::DaemonBuildResult& m);
    void handle(const std::string& machine, const message::ErrorMessage& m);
    void handle(const std::string& machine, message::DaemonStats& m);
    void handle(const std::string& machine, const message::CertificateRequest& m);
    void handle(const std::string& machine, const message::FilesNeeded& m);
    void handle(const std::string& machine, const message::FileChunkStored& m);

    // What each CLI request does (dataflows.cpp, recovery.cpp and requests.cpp).
    void on_cli_message(Peer& peer, message::CliRequest request);
    void handle(Peer& cli, message::CliStart& m);
    void handle(Peer& cli, const message::CliStop& m);
    void handle(Peer& cli, const message::CliList& m);
    void handle(Peer& cli, const message::CliLogs& m);
    void handle(Peer& cli, const message::CliCheck& m);
    void handle(Peer& cli, const message::CliBuild& m);
    void handle(Peer& cli, const message::CliDestroy& m);
    void handle(Peer& cli, const message::CliAttach& m);
    void handle(Peer& cli, const message::CliDescribe& m);
    void handle(Peer& cli, const message::CliNodeStats& m);
    void handle(Peer& cli, const message::CliIssueCertificate& m);
    void handle(Peer& cli, const message::CliCaCertificate& m);
    void handle(Peer& cli, message::CliFileChunk& m);

    // File shipping (shipping.cpp): a start's or a build's files, checked before anything is
    // sent; the dataflow's preparation deadline, started again while chunks flow; a CLI gone
    // mid-transfer.
    [[nodiscard]] static Result<> check_files(const nlohmann::json& files);
    // A transfer under way, by id: a preparing dataflow's (`dataflow`) or a build's (`build`).
    struct Transfer {
        Shipment* shipment = nullptr;  // null: no such transfer (failed or done meanwhile)
        Dataflow* dataflow = nullptr;
        uint64_t build = 0;  // the BuildJob's id
    };
    [[nodiscard]] Transfer find_transfer(const std::string& id);
    // The start or the build fails with `why`.
    void fail_transfer(const Transfer& transfer, const std::string& why);
    [[nodiscard]] static Shipment make_shipment(ConnectionId cli, const nlohmann::json& files,
                                                std::set<std::string> machines);
    // The machines among `machines` whose daemon is not on `cli_machine` (by machine identity).
    [[nodiscard]] std::vector<std::string> away_from(
        const std::string& cli_machine,
        const std::map<std::string, std::vector<std::string>>& machines) const;
    void begin_shipment(Dataflow& dataflow, ConnectionId cli, const nlohmann::json& files);
    void arm_prepare_deadline(Dataflow& dataflow);
    void shipping_cli_gone(ConnectionId cli);

    // The cluster CA (certificates.cpp): opened at creation when there is a token; a certificate
    // for `request`, or why not, logged with `who`.
    [[nodiscard]] Result<> open_ca();
    // With a token: the TLS context of the control ports, its certificate from the cluster CA (or
    // from a CA kept in memory only, without a state directory: clients do not check it, the
    // hello's proofs authenticate the coordinator).
    [[nodiscard]] Result<> open_control_tls();
    [[nodiscard]] std::string no_ca_reason() const;
    // A certificate of the cluster CA for the web view's Zenoh session (a key made here).
    [[nodiscard]] Result<WebViewTls> web_view_certificate();
    [[nodiscard]] Result<message::IssuedCertificate> issue_certificate(
        const pki::IssueRequest& request, const std::string& who);

    // Node stats (stats.cpp): the dataflows a CliNodeStats names, the reply once every asked
    // daemon answered (or the deadline passed), and one dataflow's part of it.
    [[nodiscard]] Result<std::vector<const Dataflow*>> select_for_stats(
        const std::string& dataflow) const;
    void finish_stats(uint64_t request);
    // Asks the daemons of `selected` for stats; the reply goes to `cli`, or to `done` when set.
    void request_stats(const std::vector<const Dataflow*>& selected, ConnectionId cli,
                       std::function<void(message::NodeStatsReply)> done);
    void stats_daemon_gone(const std::string& machine);
    [[nodiscard]] message::DataflowStats stats_of(const Dataflow& dataflow,
                                                  const StatsRequest* request) const;

    void stop_dataflow(Dataflow& dataflow, int64_t grace_ms);
    void fail_start(Dataflow& dataflow, const std::string& error);
    void machine_finished(Dataflow& dataflow, const std::string& machine,
                          std::vector<message::NodeResultInfo> results);
    void finish_dataflow(Dataflow& dataflow);
    [[nodiscard]] message::DataflowResult result_of(const Dataflow& dataflow) const;
    // Every node of `machine` in `dataflow`, failed with `status` ("was lost: ...").
    [[nodiscard]] static std::vector<message::NodeResultInfo> lost_nodes(const Dataflow& dataflow,
                                                                         const std::string& machine,
                                                                         const std::string& status);
    void forget_cli(ConnectionId cli);
    void fail_requests_to(const std::string& machine);
    void build_request_done(uint64_t request, bool success, const std::string& failure);
    // The build job ends, failed with `why` (its daemons drop what they were receiving).
    void fail_build(uint64_t job, const std::string& why);
    [[nodiscard]] Result<Dataflow*> find_active(const std::string& id, const std::string& name);
    [[nodiscard]] Result<Dataflow*> find_for_logs(const std::string& dataflow);
    [[nodiscard]] message::DataflowInfo info(const Dataflow& dataflow) const;
    // The allowed status transitions are in one table here.
    void set_status(Dataflow& dataflow, Status to);
    [[nodiscard]] static const char* status_name(Status status);
    // WebSource (web.cpp).
    [[nodiscard]] std::vector<WebDataflow> web_dataflows() const override;
    [[nodiscard]] std::optional<WebDataflow> web_dataflow(const std::string& id) const override;
    [[nodiscard]] std::vector<message::DaemonInfo> web_daemons() const override;
    void web_stats(const std::string& dataflow_id, std::function<void(WebStats)> done) override;

    EventLoop& loop_;
    CoordinatorOptions options_;
    std::shared_ptr<PendingGate> pending_;
    std::unique_ptr<Acceptor> daemon_listener_;
    std::unique_ptr<Acceptor> control_listener_;
    uint16_t daemon_port_ = 0;
    uint16_t control_port_ = 0;
    Timer heartbeat_;
    std::map<std::string, Timer> gone_grace_;  // by machine: see on_gone_grace_over
    // DaemonRegister::machine_identity by machine id: which daemons share the CLI's files.
    std::map<std::string, std::string> machine_identities_;
    // DaemonRegister::stream_end_key by machine id: handed to every daemon of a dataflow.
    std::map<std::string, std::string> stream_end_keys_;
    ConnectionId next_connection_ = 1;
    std::map<ConnectionId, Peer> peers_;
    // Closed peers are erased at the end of the iteration, never inside their channel's callbacks.
    Deferred reap_;
    DaemonRegistry registry_;
    std::map<std::string, Dataflow> dataflows_;  // by id: active and archived
    std::deque<std::string> archived_;           // ids, oldest first
    uint64_t next_request_ = 1;
    std::map<uint64_t, LogRequest> log_requests_;
    std::map<uint64_t, BuildRequest> build_requests_;
    std::map<uint64_t, BuildJob> build_jobs_;
    std::map<std::string, uint64_t> build_transfers_;  // transfer id -> BuildJob id
    std::map<uint64_t, StatsRequest> stats_requests_;
    // After a restart: CLIs re-attaching to a dataflow no daemon has reported yet (one per CLI),
    // and results daemons sent again for dataflows not adopted yet (dataflow -> machine ->
    // result, nullopt until it arrives; the oldest ids are forgotten beyond kMaxEarlyFinishes).
    std::map<ConnectionId, std::string> pending_attach_;
    std::map<std::string, std::map<std::string, std::optional<message::DataflowFinishedOnMachine>>>
        early_finishes_;
    static constexpr size_t kMaxEarlyFinishes = 256;
    std::optional<ConnectionId> destroy_requester_;
    bool destroying_ = false;
    bool destroyed_ = false;
    Timer destroy_deadline_;
    std::unique_ptr<pki::CertificateAuthority> ca_;       // with a token and a state directory
    std::shared_ptr<const tls::TlsContext> control_tls_;  // with a token
    std::unique_ptr<WebView> web_;  // last: it asks the rest (WebSource) until it goes
};

}  // namespace dora::coordinator
