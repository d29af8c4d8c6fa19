// Test support: a dora cluster of one test on loopback, made of real processes: a coordinator
// on ephemeral ports (it binds port 0 and prints the ports it got) and daemons named by machine
// id, each with its own work directory under the test's directory. CLI verbs run against this
// coordinator only: every process started here gets the coordinator's port on its command line
// and in DORA_COORDINATOR_ADDR/DORA_COORDINATOR_PORT, and its own XDG_RUNTIME_DIR,
// XDG_CONFIG_HOME and XDG_STATE_HOME (where a coordinator keeps its CA) with DORA_TOKEN and
// ZENOH_CONFIG removed, so neither other dora processes on the machine (coordinators on
// 6012/53290, daemons on 53291) nor the user's token, CA or Zenoh configuration can meet the
// test.
//
// Thread safety: a Cluster is used by one thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "testing/process.hpp"

namespace dora::testing {

class Cluster {
  public:
    // `dora`: the dora binary; `dir`: an existing directory the test owns (processes run there).
    Cluster(std::filesystem::path dora, std::filesystem::path dir);
    // `dora destroy` when the coordinator runs, then every process still running is stopped by
    // PID (SIGTERM, then SIGKILL).
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // `dora coordinator --port 0 --control-port 0 [extra]`; reads the ports it printed.
    ::testing::AssertionResult start_coordinator(std::vector<std::string> extra = {});
    // `dora daemon --machine-id M --coordinator-port <daemon port> --local-listen-port 0
    // --work-dir <dir>/work-M [extra]`; does not wait for it to register. `env` changes its
    // environment on top of spawn_options() (e.g. a ZENOH_CONFIG).
    Process& start_daemon(const std::string& machine, std::vector<std::string> extra = {},
                          const std::map<std::string, std::optional<std::string>>& env = {});
    // Waits until `dora list` shows exactly `count` connected daemons.
    ::testing::AssertionResult wait_for_daemons(
        size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // A coordinator and one daemon per machine, all registered.
    ::testing::AssertionResult start(const std::vector<std::string>& machines);

    // `dora <args> --coordinator-port <control port>`.
    [[nodiscard]] std::vector<std::string> cli(std::vector<std::string> args) const;
    // Where and with what environment the cluster's processes run.
    [[nodiscard]] SpawnOptions spawn_options() const;
    // Starts a CLI verb and returns at once.
    [[nodiscard]] std::unique_ptr<Process> spawn(std::vector<std::string> args) const;

    struct Result {
        int code = -1;  // exit code; -1 when killed or timed out
        std::string out;
        std::string err;
        [[nodiscard]] std::string all() const { return out + err; }
    };
    // Runs a CLI verb to completion (killed after `timeout`).
    Result run(std::vector<std::string> args,
               std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    [[nodiscard]] uint16_t control_port() const { return control_port_; }
    [[nodiscard]] uint16_t daemon_port() const { return daemon_port_; }
    // Points the CLI at another port (e.g. one where nothing listens) without a coordinator.
    void set_control_port(uint16_t port) { control_port_ = port; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] std::filesystem::path runtime_dir() const { return dir_ / "run"; }
    [[nodiscard]] std::filesystem::path work_dir(const std::string& machine) const {
        return dir_ / ("work-" + machine);
    }

    [[nodiscard]] Process* coordinator() { return coordinator_.get(); }
    [[nodiscard]] std::vector<std::unique_ptr<Process>>& daemons() { return daemons_; }
    // Stops the cluster as TearDown would: `dora destroy`, then waits for every process.
    void destroy();
    // Everything the coordinator and daemons printed, for failure messages.
    [[nodiscard]] std::string logs();

  private:
    std::filesystem::path dora_;
    std::filesystem::path dir_;
    std::unique_ptr<Process> coordinator_;
    std::vector<std::unique_ptr<Process>> daemons_;
    std::vector<std::string> daemon_names_;
    uint16_t control_port_ = 0;
    uint16_t daemon_port_ = 0;
};

// For a fixture's TearDown: prints the cluster's logs to stderr when the test failed, then stops
// it (`dora destroy`, then every process by PID). No effect on a null cluster.
void stop_cluster(std::unique_ptr<Cluster>& cluster, bool failed);

}  // namespace dora::testing
