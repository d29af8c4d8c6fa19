// Descriptor queries and validation; parsing is in descriptor_yaml.cpp.
#include "core/descriptor.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "core/log_text.hpp"

namespace dora {
namespace {

bool is_file(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out.empty() ? "none" : out;
}

// Collects problems, one line each: "<file:line:col>: node "<id>": <message>".
class Problems {
  public:
    void add(const SourceLocation& where, const NodeDescriptor& node, std::string_view message) {
        lines_.push_back(fmt::format("{}: node \"{}\": {}", format_location(where),
                                     escape_for_log(node.id), message));
    }

    Result<> result() const {
        if (lines_.empty()) return {};
        std::string all;
        for (const auto& line : lines_) {
            if (!all.empty()) all += '\n';
            all += line;
        }
        return fail(Error(std::move(all)));
    }

  private:
    std::vector<std::string> lines_;
};

void check_ids(const Descriptor& descriptor, Problems& problems) {
    std::map<std::string_view, const NodeDescriptor*> first_by_id;
    for (const auto& node : descriptor.nodes) {
        if (auto problem = id_problem(node.id, /*output=*/false); !problem.empty()) {
            problems.add(node.location_of("id"), node, problem);
        }
        for (const auto& op : node.operators) {
            if (auto problem = id_problem(op.id, /*output=*/false); !problem.empty()) {
                problems.add(op.location, node, "operator: " + problem);
            }
        }
        auto [it, inserted] = first_by_id.emplace(node.id, &node);
        if (!inserted) {
            problems.add(node.location_of("id"), node,
                         fmt::format("duplicate node id (first defined at {}); give each node "
                                     "its own id",
                                     format_location(it->second->location)));
        }
    }
}

void check_outputs(const NodeDescriptor& node, Problems& problems) {
    std::set<std::string_view> seen;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
        const SourceLocation& where = i < node.output_locations.size()
                                          ? node.output_locations[i]
                                          : node.location_of("outputs");
        if (auto problem = id_problem(node.outputs[i], /*output=*/true); !problem.empty()) {
            problems.add(where, node, "output: " + problem);
        }
        if (!seen.insert(node.outputs[i]).second) {
            problems.add(where, node,
                         fmt::format("output \"{}\" is listed twice; remove one", node.outputs[i]));
        }
    }
    if (node.send_stdout_as) {
        const auto& outputs = node.outputs;
        if (std::find(outputs.begin(), outputs.end(), *node.send_stdout_as) == outputs.end()) {
            problems.add(
                node.location_of("send_stdout_as"), node,
                fmt::format("send_stdout_as \"{}\" is not one of its outputs (its "
                            "outputs: {}); add \"{}\" to `outputs`",
                            *node.send_stdout_as, join_names(outputs), *node.send_stdout_as));
        }
    }
}

void check_logs_output(const NodeDescriptor& node, Problems& problems) {
    if (!node.send_logs_as) {
        return;
    }
    const auto& outputs = node.outputs;
    if (std::find(outputs.begin(), outputs.end(), *node.send_logs_as) == outputs.end()) {
        problems.add(node.location_of("send_logs_as"), node,
                     fmt::format("send_logs_as \"{}\" is not one of its outputs (its outputs: "
                                 "{}); add \"{}\" to `outputs`",
                                 *node.send_logs_as, join_names(outputs), *node.send_logs_as));
    }
    if (node.send_stdout_as == node.send_logs_as) {
        problems.add(node.location_of("send_logs_as"), node,
                     fmt::format("send_logs_as and send_stdout_as both name output \"{}\"; its "
                                 "consumers could not tell raw lines from log entries: give each "
                                 "its own output",
                                 *node.send_logs_as));
    }
}

// Backpressure makes the sender wait; the daemon sends timer ticks and a node's printed lines
// (send_stdout_as, send_logs_as) itself, and must never wait for a node.
void check_backpressure(const Descriptor& descriptor, const NodeDescriptor& node,
                        const Input& input, Problems& problems) {
    if (input.queue_policy != QueuePolicy::kBackpressure) {
        return;
    }
    const SourceLocation& where = input.location.line > 0 ? input.location : node.location;
    if (std::holds_alternative<TimerSource>(input.source)) {
        problems.add(where, node,
                     fmt::format("input \"{}\": `queue_policy: backpressure` on a timer: a timer "
                                 "does not wait for its receiver; remove queue_policy (a tick "
                                 "that finds the queue full is dropped and counted)",
                                 input.id));
        return;
    }
    const auto& source = std::get<NodeOutputSource>(input.source);
    const NodeDescriptor* producer = descriptor.find_node(source.node);
    if (producer == nullptr) {
        return;  // reported by check_source
    }
    for (const auto* daemon_sent : {&producer->send_stdout_as, &producer->send_logs_as}) {
        if (*daemon_sent == source.output) {
            problems.add(where, node,
                         fmt::format("input \"{}\": `queue_policy: backpressure` on \"{}\", "
                                     "which carries what node \"{}\" prints (send_stdout_as or "
                                     "send_logs_as): the daemon sends those lines and never "
                                     "waits; use drop_oldest with a larger queue_size",
                                     input.id, format_input_source(input.source), source.node));
        }
    }
}

void check_source(const Descriptor& descriptor, const NodeDescriptor& node, const Input& input,
                  Problems& problems) {
    const SourceLocation& where = input.location.line > 0 ? input.location : node.location;
    if (const auto* timer = std::get_if<TimerSource>(&input.source)) {
        if (timer->interval.count() <= 0) {
            problems.add(
                where, node,
                fmt::format("input \"{}\": timer interval must be greater than zero", input.id));
        }
        return;
    }
    const auto& source = std::get<NodeOutputSource>(input.source);
    const NodeDescriptor* producer = descriptor.find_node(source.node);
    std::string spelled = format_input_source(input.source);
    if (producer == nullptr) {
        std::vector<std::string> ids;
        for (const auto& other : descriptor.nodes) {
            if (std::find(ids.begin(), ids.end(), other.id) == ids.end()) ids.push_back(other.id);
        }
        problems.add(where, node,
                     fmt::format("input \"{}\" reads from \"{}\" but there is no node \"{}\" "
                                 "(nodes: {}); add that node or fix the input",
                                 input.id, spelled, source.node, join_names(ids)));
        return;
    }
    const auto& outputs = producer->outputs;
    if (std::find(outputs.begin(), outputs.end(), source.output) == outputs.end()) {
        problems.add(where, node,
                     fmt::format("input \"{}\" reads from \"{}\" but node \"{}\" has no output "
                                 "\"{}\" (its outputs: {}); add \"{}\" to its outputs or fix the "
                                 "input",
                                 input.id, spelled, source.node, source.output, join_names(outputs),
                                 source.output));
    }
}

void check_inputs(const Descriptor& descriptor, const NodeDescriptor& node, Problems& problems) {
    if (node.inputs.size() > kMaxNodeInputs) {
        problems.add(node.location_of("inputs"), node,
                     fmt::format("{} inputs{}; a node may have at most {}: split it into several "
                                 "nodes",
                                 node.inputs.size(),
                                 node.kind == NodeKind::kOperators ? " over its operators" : "",
                                 kMaxNodeInputs));
    }
    std::set<std::string_view> seen;
    for (const auto& input : node.inputs) {
        const SourceLocation& where = input.location.line > 0 ? input.location : node.location;
        if (!seen.insert(input.id).second) {
            problems.add(
                where, node,
                fmt::format("input \"{}\" is defined twice; rename or remove one", input.id));
        }
        if (input.queue_size == 0 || input.queue_size > kMaxQueueSize) {
            problems.add(where, node,
                         fmt::format("input \"{}\": queue_size {} is out of range; use 1 to {}",
                                     input.id, input.queue_size, kMaxQueueSize));
        }
        check_source(descriptor, node, input, problems);
        check_backpressure(descriptor, node, input, problems);
    }
}

void check_path(const Descriptor& descriptor, const NodeDescriptor& node, Problems& problems) {
    if (node.kind == NodeKind::kOperators) {
        if (node.build || node.git) return;  // the files appear with the build
        for (const auto& op : node.operators) {
            if (auto file = resolve_operator_file(descriptor, op); !file) {
                problems.add(op.location, node, file.error().message());
            }
        }
        return;
    }
    bool names_a_file = node.kind == NodeKind::kExecutable || node.kind == NodeKind::kPython;
    if (!names_a_file || node.build || node.git || is_url_path(node.path)) return;
    if (node.path.empty()) return;  // already reported by the parser
    auto resolved = resolve_node_path(descriptor, node);
    if (!resolved) {
        problems.add(node.location_of("path"), node, resolved.error().message());
        return;
    }
    if (node.kind == NodeKind::kExecutable && ::access(resolved->c_str(), X_OK) != 0) {
        problems.add(node.location_of("path"), node,
                     fmt::format("{} is not executable; run `chmod +x {}`", resolved->string(),
                                 resolved->string()));
    }
}

std::optional<std::filesystem::path> search_path_env(const std::string& name) {
    const char* path_env = std::getenv("PATH");
    if (path_env == nullptr) return std::nullopt;
    std::string_view dirs = path_env;
    while (!dirs.empty()) {
        size_t colon = dirs.find(':');
        std::string_view dir = dirs.substr(0, colon);
        dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
        std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
        if (is_file(candidate) && ::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

}  // namespace

bool is_url_path(std::string_view path) {
    return path.starts_with("http://") || path.starts_with("https://");
}

const SourceLocation& NodeDescriptor::location_of(std::string_view key) const {
    auto found = key_locations.find(key);
    return found != key_locations.end() ? found->second : location;
}

const NodeDescriptor* Descriptor::find_node(std::string_view id) const {
    for (const auto& node : nodes) {
        if (node.id == id) return &node;
    }
    return nullptr;
}

Deploy Descriptor::effective_deploy(const NodeDescriptor& node) const {
    Deploy merged = node.deploy;
    if (deploy) {
        if (!merged.machine) merged.machine = deploy->machine;
        if (!merged.working_dir) merged.working_dir = deploy->working_dir;
        if (merged.labels.empty()) merged.labels = deploy->labels;
    }
    return merged;
}

std::string format_location(const SourceLocation& location) {
    std::string file = location.file.empty() ? std::string("<dataflow>") : location.file;
    if (location.line <= 0) return file;
    if (location.column <= 0) return fmt::format("{}:{}", file, location.line);
    return fmt::format("{}:{}:{}", file, location.line, location.column);
}

std::string format_input_source(const InputSource& source) {
    if (const auto* timer = std::get_if<TimerSource>(&source)) {
        if (!timer->spelling.empty()) return timer->spelling;
        auto ns = timer->interval.count();
        if (ns % 1'000'000'000 == 0) return fmt::format("dora/timer/secs/{}", ns / 1'000'000'000);
        return fmt::format("dora/timer/millis/{}", ns / 1'000'000);
    }
    const auto& output = std::get<NodeOutputSource>(source);
    return fmt::format("{}/{}", output.node, output.output);
}

Result<std::filesystem::path> resolve_operator_file(const Descriptor& descriptor,
                                                    const OperatorDescriptor& op) {
    std::error_code ec;
    std::filesystem::path base = descriptor.base_dir;
    if (base.empty()) base = std::filesystem::current_path(ec);
    auto absolute = [&base](const std::filesystem::path& path) {
        return path.is_absolute() ? path : (base / path).lexically_normal();
    };
    if (op.shared_library.empty()) {
        std::filesystem::path candidate = absolute(op.python);
        if (is_file(candidate)) return candidate;
        return fail(
            "operator `{}`: {} does not exist; fix `python:` (relative paths start at the "
            "dataflow's directory)",
            op.id, candidate.string());
    }
    // dora's spelling first (`build/op` is build/libop.so), then the file exactly as written.
    const std::filesystem::path written = absolute(op.shared_library);
    const std::filesystem::path dora_name =
        written.parent_path() / ("lib" + written.filename().string() + ".so");
    if (is_file(dora_name)) return dora_name;
    if (is_file(written)) return written;
    return fail(
        "operator `{}`: no shared library at {} (`shared-library: {}` names lib<name>.so, as in "
        "dora, or an exact file; relative paths start at the dataflow's directory); build the "
        "operator first",
        op.id, dora_name.string(), op.shared_library);
}

Result<std::filesystem::path> resolve_node_path(const Descriptor& descriptor,
                                                const NodeDescriptor& node) {
    if (node.kind == NodeKind::kShell || node.kind == NodeKind::kDynamic) {
        return fail("node \"{}\" has `path: {}`, which names no file", node.id, node.path);
    }
    std::filesystem::path path(node.path);
    if (path.is_absolute()) {
        if (is_file(path)) return path;
        return fail("{} does not exist; fix `path` or build the node first", node.path);
    }
    std::error_code ec;
    std::filesystem::path base = descriptor.base_dir;
    if (base.empty()) base = std::filesystem::current_path(ec);
    std::filesystem::path candidate = (base / path).lexically_normal();
    if (is_file(candidate)) return candidate;
    if (node.path.find('/') == std::string::npos) {
        if (auto found = search_path_env(node.path)) return *found;
        return fail("\"{}\" is neither in {} nor on PATH; fix `path` or build the node first",
                    node.path, base.string());
    }
    return fail(
        "{} does not exist; fix `path` (relative paths start at the dataflow's "
        "directory) or build the node first",
        candidate.string());
}

std::string id_problem(std::string_view id, bool output) {
    if (id.empty()) {
        return "the id is empty; give it a name";
    }
    for (char c : id) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return fmt::format(
                "the id \"{}\" contains the control character \\x{:02x}; use "
                "letters, digits, '-', '_' or '.'",
                escape_for_log(id), byte);
        }
        if (c == '*' || c == '$' || c == '?' || c == '#') {
            return fmt::format(
                "the id \"{}\" contains '{}', which Zenoh key expressions reserve as a wildcard or "
                "special character: across machines it could match other ids and receive their "
                "data; use letters, digits, '-', '_' or '.'",
                escape_for_log(id), c);
        }
    }
    if (!output) {
        return id.find('/') == std::string_view::npos
                   ? std::string()
                   : std::string(
                         "the id contains '/', which separates node and output in "
                         "inputs; use '-' or '_' instead");
    }
    if (id.front() == '/' || id.back() == '/' || id.find("//") != std::string_view::npos) {
        return fmt::format(
            "the output id \"{}\" has an empty part between '/'; remove the "
            "leading, trailing or doubled '/'",
            escape_for_log(id));
    }
    return {};
}

Result<> validate(const Descriptor& descriptor, const ValidationOptions& options) {
    Problems problems;
    check_ids(descriptor, problems);
    for (const auto& node : descriptor.nodes) {
        check_outputs(node, problems);
        check_logs_output(node, problems);
        check_inputs(descriptor, node, problems);
        if (options.check_paths) check_path(descriptor, node, problems);
    }
    return problems.result();
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    std::string lower;
    for (char c : text)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "stdout") return LogLevel::kStdout;
    if (lower == "error") return LogLevel::kError;
    if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
    if (lower == "info") return LogLevel::kInfo;
    if (lower == "debug") return LogLevel::kDebug;
    if (lower == "trace") return LogLevel::kTrace;
    return std::nullopt;
}

bool log_level_passes(LogLevel level, LogLevel min) {
    if (min == LogLevel::kStdout) return true;
    if (level == LogLevel::kStdout) return false;
    return static_cast<int>(level) <= static_cast<int>(min);
}

}  // namespace dora
