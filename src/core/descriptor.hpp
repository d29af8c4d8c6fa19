// The dataflow descriptor: the typed model of a dataflow YAML file (dora 0.3.12 schema plus the
// 1.0 additions), its parser and its validation.
//
// `parse_descriptor` reads YAML text into a Descriptor and rejects anything the schema does not
// allow (unknown keys, wrong types) with an error naming file, line, column, node and key.
// `validate` checks what a dataflow needs to run (sources exist, ids unique, executables exist)
// so that a dataflow that cannot run is rejected before anything is spawned.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace dora {

// Where an element was written, for error messages. line/column are 1-based; 0 = unknown.
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
};

// `dora/timer/secs/N`, `dora/timer/millis/N`, `dora/timer/hz/N`.
struct TimerSource {
    std::chrono::nanoseconds interval{};
    std::string spelling;  // the original text, e.g. "dora/timer/millis/100"
    bool operator==(const TimerSource&) const = default;
};

// `node/output`.
struct NodeOutputSource {
    std::string node;
    std::string output;
    bool operator==(const NodeOutputSource&) const = default;
};

using InputSource = std::variant<NodeOutputSource, TimerSource>;

inline constexpr uint32_t kDefaultQueueSize = 10;

// dora 1.x `queue_policy`: what a full input queue does with the next message.
enum class QueuePolicy {
    kDropOldest,    // the oldest queued message is dropped (and counted)
    kBackpressure,  // the sender waits until the receiver has taken one (across machines too)
};

struct Input {
    std::string id;
    InputSource source;
    uint32_t queue_size = kDefaultQueueSize;
    QueuePolicy queue_policy = QueuePolicy::kDropOldest;
    // dora 1.x `input_timeout`, in seconds: once the input has received a message, no further
    // message for this long closes it (INPUT_CLOSED); a later message reopens it
    // (INPUT_RECOVERED, then the message).
    std::optional<double> input_timeout;
    SourceLocation location;
};

// dora 1.x log levels, least verbose first. `kStdout` is a line that is not a structured log
// entry (a plain print): it passes only `min_log_level: stdout`.
enum class LogLevel { kStdout, kError, kWarn, kInfo, kDebug, kTrace };

// "stdout", "error", "warn", "info", "debug", "trace" (case-insensitive; "warning" = warn).
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text);
// dora 1.x: a line of `level` is kept under `min_log_level: min` (a plain line only under
// `stdout`; a structured one when it is at least as severe as `min`).
[[nodiscard]] bool log_level_passes(LogLevel level, LogLevel min);

enum class RestartPolicy { kNever, kOnFailure, kAlways };

// How a node's `path` is run.
enum class NodeKind {
    kExecutable,  // path is an executable file
    kPython,      // path ends in .py: run with `python3 -u path args...`
    kShell,       // path == "shell": `sh -c <args>`
    kDynamic,     // path == "dynamic": not spawned, connects by itself
    kOperators,   // `operators:` / `operator:`: dora's runtime node runs its operators
};

// One operator of a runtime node (dora's `operators:` entry, or `operator:`). Its inputs and
// outputs also appear on the runtime node as "<operator>/<id>", which is how the rest of the
// dataflow addresses them (`<node>/<operator>/<output>`).
// Exactly one of `python` and `shared_library` is set; the operators of one node are all of one
// kind (Python ones run in a Python runtime, shared libraries in dora-runtime).
struct OperatorDescriptor {
    std::string id;
    std::string python;  // the operator's Python file, as written (relative to the dataflow)
    // `shared-library:` as written: a path without `lib` and `.so` (dora adds them), or a file.
    std::string shared_library;
    std::vector<std::string> inputs;   // input ids
    std::vector<std::string> outputs;  // output ids
    SourceLocation location;
};

struct Deploy {
    std::optional<std::string> machine;
    std::optional<std::string> working_dir;
    // dora 1.x: the node runs on a daemon started with all of these labels (`--labels k=v,...`).
    std::map<std::string, std::string> labels;
};

// dora 0.3.12 `git:` (+ at most one of `branch:`, `tag:`, `rev:`): the node's source lives in a
// git repository that `dora build` clones; `path` and `build` are relative to the clone.
struct GitSource {
    std::string repo;
    std::optional<std::string> branch;
    std::optional<std::string> tag;
    std::optional<std::string> rev;
};

struct NodeDescriptor {
    std::string id;
    std::optional<std::string> name;
    std::optional<std::string> description;
    std::string path;  // as written
    NodeKind kind = NodeKind::kExecutable;
    std::optional<std::string> args;  // one string, split like a shell would
    // Values as strings after conversion from string/number/bool; `$VAR` is expanded at spawn.
    std::map<std::string, std::string> env;
    std::optional<std::string> build;
    std::vector<Input> inputs;
    std::vector<std::string> outputs;
    std::optional<std::string> send_stdout_as;
    // dora 1.x: each kept log line, as a JSON log entry, is sent on this output.
    std::optional<std::string> send_logs_as;
    // dora 1.x: lines below this level are left out of the log file, `dora logs`, attached CLIs
    // and send_logs_as (stderr lines are always kept: they carry crash reports).
    std::optional<LogLevel> min_log_level;
    Deploy deploy;  // from `_unstable_deploy:` or `deploy:`
    RestartPolicy restart_policy = RestartPolicy::kNever;
    std::optional<uint32_t> max_restarts;  // 0: unlimited (dora 1.x)
    // dora 1.x restart tuning, in seconds: the first delay (doubling at each restart), its cap,
    // and the window in which max_restarts counts (restarts older than it are forgotten).
    std::optional<double> restart_delay;
    std::optional<double> max_restart_delay;
    std::optional<double> restart_window;
    std::optional<GitSource> git;
    // Not from the YAML: the clone a git node runs in, set on the machine that runs it once
    // `dora build` fetched it (daemon/node_source.hpp); the process starts there.
    std::filesystem::path checkout_dir;
    std::vector<OperatorDescriptor> operators;  // kOperators only
    SourceLocation location;                    // where the node's entry (`- id: ...`) starts
    // Where each key of this node was written (the key itself, e.g. `path:`), for error messages.
    std::map<std::string, SourceLocation, std::less<>> key_locations;
    std::vector<SourceLocation> output_locations;  // parallel to `outputs`

    // The location of `key` if it was written, else the node's own location.
    [[nodiscard]] const SourceLocation& location_of(std::string_view key) const;
};

struct Descriptor {
    std::vector<NodeDescriptor> nodes;
    // dora 1.x top-level `env`: every node's environment; a node's own `env` overrides it (the
    // parser merges it into each node's `env`, so nodes carry their whole environment).
    std::map<std::string, std::string> env;
    std::optional<Deploy> deploy;  // dataflow-level default (`_unstable_deploy` / `deploy`)
    // `debug: {enable_debug_inspection: true}` (1.x) or `_unstable_debug:
    // {publish_all_messages_to_zenoh: true}` (0.3.12): each daemon publishes every output of its
    // nodes on the output's Zenoh key, also those that only local nodes consume.
    bool debug_inspection = false;
    // dora-cpp's own top-level `strict: true` (like `dora start --strict`): a run that dropped
    // messages anywhere on the way ends as a failure.
    bool strict = false;
    std::filesystem::path source_file;  // the YAML file, absolute; empty when parsed from text
    std::filesystem::path base_dir;     // the dataflow file's directory (relative paths start here)

    [[nodiscard]] const NodeDescriptor* find_node(std::string_view id) const;
    // The node's deploy settings, each field falling back to the dataflow-level default.
    [[nodiscard]] Deploy effective_deploy(const NodeDescriptor& node) const;
};

// `path: http://...` / `https://...`: a node downloaded before it runs (daemon/node_source.hpp).
[[nodiscard]] bool is_url_path(std::string_view path);

// "file:line:column" (the parts that are known).
[[nodiscard]] std::string format_location(const SourceLocation& location);

// The text a user writes for a source: "node/output" or "dora/timer/millis/100".
[[nodiscard]] std::string format_input_source(const InputSource& source);

// Parses YAML text. `file_name` is used in error messages and to set source_file/base_dir.
[[nodiscard]] Result<Descriptor> parse_descriptor(std::string_view yaml_text,
                                                  const std::filesystem::path& file_name);

// Reads and parses a dataflow file.
[[nodiscard]] Result<Descriptor> read_descriptor(const std::filesystem::path& file);

struct ValidationOptions {
    // Check that executables and scripts exist (false when the nodes run on another machine).
    // Nodes with `build:` or `git:` and URL paths are never checked: their file appears later.
    bool check_paths = true;
};

// Why `id` cannot be a node (or operator) id, `output` false, or an output id, `output` true; ""
// when it can. Ids become chunks of Zenoh key expressions: no `*`, `$`, `?`, `#`, control
// characters or empty chunks, and no '/' but between the parts of an output id.
[[nodiscard]] std::string id_problem(std::string_view id, bool output);

// Checks that the dataflow can run: unique ids that are valid key chunks (id_problem), every
// input source names an
// existing node and one of its outputs, executables and scripts exist. Returns every problem
// found, one per line, each naming file, line, column, node and key and saying what to do.
[[nodiscard]] Result<> validate(const Descriptor& descriptor,
                                const ValidationOptions& options = {});

// Resolves a node's executable or script path: absolute paths as they are, relative ones against
// base_dir (the current directory when base_dir is empty), and bare names (no '/') that are not
// found there through PATH. Fails for `shell` and `dynamic` nodes, which name no file, and when
// nothing is found.
[[nodiscard]] Result<std::filesystem::path> resolve_node_path(const Descriptor& descriptor,
                                                              const NodeDescriptor& node);
// An operator's Python file or shared library: absolute, or relative to the dataflow's directory.
// `shared-library: dir/name` is dir/libname.so as in dora, else the file as written.
[[nodiscard]] Result<std::filesystem::path> resolve_operator_file(const Descriptor& descriptor,
                                                                  const OperatorDescriptor& op);

}  // namespace dora
