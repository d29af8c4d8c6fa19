// How a spawned node gets its configuration without the configuration travelling in its
// environment: the daemon writes each node's NodeConfig (JSON) into a file of a per-dataflow
// directory that only the user can read (0700 directory, 0600 files), and puts a small handle in
// DORA_NODE_CONFIG:
//   {"dataflow_id": ..., "node_id": ..., "machine_id": ..., "config_file": "<path>"}
// The handle's size depends only on the ids and the path, so no dataflow is too large to spawn
// (exec fails with E2BIG once one environment string passes 128 KiB, and a node's configuration
// grows with its inputs). The directory is removed when the dataflow ends on that daemon.
//
// The node library accepts either a handle or, as before, a whole NodeConfig in DORA_NODE_CONFIG
// (tests and hand-made environments).
//
// Thread safety: NodeConfigDir is used by one thread at a time; free functions are reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "message/node_config.hpp"

namespace dora::message {

// Largest configuration file a node reads (a node with ~100,000 inputs stays below it).
inline constexpr size_t kMaxNodeConfigFileSize = 64u << 20;

// A directory of node configuration files, removed with everything in it on destruction.
class NodeConfigDir {
  public:
    NodeConfigDir() = default;
    // Creates `dir` (mode 0700) inside `base`, which is created if missing and must be a
    // directory of this user that no one else may write to. A stale `dir` is replaced.
    [[nodiscard]] static Result<NodeConfigDir> create(const std::filesystem::path& base,
                                                      const std::string& dir);
    NodeConfigDir(NodeConfigDir&& other) noexcept;
    NodeConfigDir& operator=(NodeConfigDir&& other) noexcept;
    NodeConfigDir(const NodeConfigDir&) = delete;
    NodeConfigDir& operator=(const NodeConfigDir&) = delete;
    ~NodeConfigDir();

    // Writes `config` as `<dir>/<name>.json` (mode 0600; replaced atomically when it exists, e.g.
    // for a restart) and returns the handle to put in DORA_NODE_CONFIG.
    [[nodiscard]] Result<std::string> write(const std::string& name, const NodeConfig& config);
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  private:
    explicit NodeConfigDir(std::filesystem::path path) : path_(std::move(path)) {}
    void remove();

    std::filesystem::path path_;
};

// The handle for a configuration stored in `file`.
[[nodiscard]] std::string node_config_handle(const NodeConfig& config,
                                             const std::filesystem::path& file);

// The configuration that DORA_NODE_CONFIG's value stands for: read from the file a handle names,
// or parsed from the value itself when it is a whole configuration.
[[nodiscard]] Result<NodeConfig> load_node_config(std::string_view env_value);

}  // namespace dora::message
