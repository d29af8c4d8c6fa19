#include "daemon/node_command.hpp"

#include <nlohmann/json.hpp>

#include "core/shell_words.hpp"
#include "daemon/python_env.hpp"

namespace dora::daemon {

std::filesystem::path node_working_dir(const Descriptor& descriptor, const NodeDescriptor& node) {
    const auto& dir = node.deploy.working_dir
                          ? node.deploy.working_dir
                          : (descriptor.deploy ? descriptor.deploy->working_dir : std::nullopt);
    if (dir) {
        std::filesystem::path p(*dir);
        return p.is_absolute() ? p : descriptor.base_dir / p;
    }
    return descriptor.base_dir.empty() ? std::filesystem::current_path() : descriptor.base_dir;
}

namespace {

// dora's runtime node: the command of its runtime (our Python package's for Python operators,
// dora-runtime for shared libraries; the parser keeps one kind per node) and DORA_OPERATORS.
Result<std::pair<std::vector<std::string>, std::string>> operator_runtime_command(
    const Descriptor& descriptor, const NodeDescriptor& node) {
    const bool shared = !node.operators.empty() && !node.operators.front().shared_library.empty();
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& op : node.operators) {
        auto file = resolve_operator_file(descriptor, op);
        if (!file) {
            return fail(file.error().context(fmt::format("node {}", node.id)));
        }
        ops.push_back({{"id", op.id},
                       {shared ? "shared_library" : "python", file->string()},
                       {"inputs", op.inputs},
                       {"outputs", op.outputs}});
    }
    std::vector<std::string> argv =
        shared ? std::vector<std::string>{dora_runtime_path()}
               : std::vector<std::string>{"python3", "-u", "-m", "dora.operator_runtime"};
    return std::pair{std::move(argv), ops.dump()};
}

}  // namespace

Result<SpawnSpec> node_spawn_spec(const Descriptor& descriptor, const NodeDescriptor& node,
                                  std::map<std::string, std::string> base_env) {
    SpawnSpec spec;
    spec.working_dir =
        node.checkout_dir.empty() ? node_working_dir(descriptor, node) : node.checkout_dir;
    std::vector<std::string> args;
    if (node.args && node.kind != NodeKind::kShell) {
        auto words = split_shell_words(*node.args);
        if (!words) {
            return fail(words.error().context(fmt::format("node {}: args", node.id)));
        }
        args = std::move(*words);
    }
    switch (node.kind) {
        case NodeKind::kShell:
            spec.argv = {"sh", "-c", node.args.value_or("")};
            break;
        case NodeKind::kPython: {
            auto path = resolve_node_path(descriptor, node);
            if (!path) {
                return fail(path.error());
            }
            spec.argv = {"python3", "-u", path->string()};
            break;
        }
        case NodeKind::kExecutable: {
            auto path = resolve_node_path(descriptor, node);
            if (!path) {
                return fail(path.error());
            }
            spec.argv = {path->string()};
            break;
        }
        case NodeKind::kDynamic:
            return fail("node {} is dynamic: it is not spawned by dora, start it yourself",
                        node.id);
        case NodeKind::kOperators: {
            auto runtime = operator_runtime_command(descriptor, node);
            if (!runtime) {
                return fail(runtime.error());
            }
            base_env[std::string(kOperatorsEnv)] = runtime->second;
            spec.argv = std::move(runtime->first);
            break;
        }
    }
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    auto lookup = [&base_env](std::string_view name) -> std::optional<std::string> {
        if (auto it = base_env.find(std::string(name)); it != base_env.end()) {
            return it->second;
        }
        return std::nullopt;
    };
    std::map<std::string, std::string> node_env;
    for (const auto& [key, value] : node.env) {
        auto expanded = expand_env(value, lookup);
        if (!expanded) {
            return fail(expanded.error().context(fmt::format("node {}: env {}", node.id, key)));
        }
        node_env[key] = std::move(*expanded);
    }
    for (auto& [k, v] : node_env) {
        base_env[k] = std::move(v);
    }
    spec.env = std::move(base_env);
    return spec;
}

}  // namespace dora::daemon
