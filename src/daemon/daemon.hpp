// `dora daemon`: one per machine. Registers with the coordinator under a machine id, prepares
// and spawns its machine's part of each dataflow (LocalDataflow, two-phase), streams node output
// to the coordinator, reports results, serves `dora logs` and `dora build`, and keeps its nodes
// running while the coordinator is away (reconnecting forever, re-announcing what it runs).
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "daemon/coordinator_link.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/zenoh_bridge.hpp"

namespace dora::daemon {

struct DaemonOptions {
    std::string machine_id;  // "" = the default daemon
    std::string coordinator_addr = "127.0.0.1";
    uint16_t coordinator_port = 53290;
    uint16_t local_listen_port = 53291;
    std::optional<std::string> token;
    std::filesystem::path work_dir;  // per-dataflow dirs for dataflows started elsewhere
    std::string dora_version;
    std::map<std::string, std::string> extra_node_env;  // e.g. PYTHONPATH
    // Zenoh between machines: ZENOH_CONFIG's content, or peer mode on tcp/0.0.0.0:0.
    zenoh::ZenohConfig zenoh;
};

class Daemon {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Daemon>> create(EventLoop& loop,
                                                                DaemonOptions options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    void start();
    // Stops every dataflow (grace) and then the loop (SIGINT/SIGTERM, `dora destroy`).
    void shut_down(std::chrono::nanoseconds grace);

  private:
    struct Dataflow {
        std::string id;
        std::string name;
        Descriptor descriptor;
        std::unique_ptr<LocalDataflow> local;
        bool spawned = false;
        bool finished = false;
    };

    Daemon(EventLoop& loop, DaemonOptions options);
    void on_message(const nlohmann::json& message);
    void on_connected();
    void prepare(const nlohmann::json& message);
    // Replies "prepared" once remote consumers have subscribed to our outputs, or at `deadline`.
    void await_routing(const std::string& id, std::chrono::steady_clock::time_point deadline);
    void spawn(const nlohmann::json& message);
    void stop(const nlohmann::json& message);
    void read_logs(const nlohmann::json& message);
    void build(const nlohmann::json& message);
    [[nodiscard]] Result<Descriptor> load_descriptor(const std::string& dataflow_id,
                                                     const std::string& yaml,
                                                     const std::string& path,
                                                     const std::string& cli_machine);
    [[nodiscard]] bool is_local(const Descriptor& descriptor, const NodeDescriptor& node) const;
    void finished(const std::string& dataflow_id);
    void maybe_exit();

    EventLoop& loop_;
    DaemonOptions options_;
    std::unique_ptr<ZenohBridge> bridge_;
    std::unique_ptr<CoordinatorLink> link_;
    std::map<std::string, std::unique_ptr<Dataflow>> dataflows_;
    // Finished dataflows' descriptors, for `dora logs` after the end.
    std::map<std::string, std::unique_ptr<Dataflow>> archived_;
    // Finished while the coordinator was unreachable: their finish message waits in the link's
    // queue, so the next registration still lists them (else they would count as lost).
    std::vector<std::string> unreported_finishes_;
    sys::UniqueFd listen_fd_;
    bool shutting_down_ = false;
};

}  // namespace dora::daemon
