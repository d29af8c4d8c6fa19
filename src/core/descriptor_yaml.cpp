// YAML -> Descriptor: the schema half of descriptor.hpp (validation is in descriptor.cpp).
//
// The parser walks the yaml-cpp node tree once and records every schema problem it meets
// instead of stopping at the first, so a user fixes a file in one round. yaml-cpp reports
// syntax errors by exception; they are caught here and turned into an Error.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/descriptor.hpp"
#include "core/suggest.hpp"

namespace dora {
namespace {

constexpr double kMaxTimerHz = 1e9;  // one tick per nanosecond

std::string_view type_name(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            return "a scalar";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        default:
            return "nothing";
    }
}

std::string join(const std::vector<std::string_view>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<uint64_t> parse_u64(std::string_view text) {
    if (!all_digits(text)) return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Rust's f64 Display (what dora puts in env values): shortest round-trip digits, never an
// exponent. to_chars in fixed format without a precision gives exactly that.
std::string format_float(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buffer[400];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    if (ec != std::errc()) return fmt::format("{}", value);
    return std::string(buffer, end);
}

// A plain (unquoted) YAML scalar as dora would turn it into an env value: YAML 1.2 core-schema
// bools, integers and floats are normalised, everything else is kept as written.
std::string env_value_text(const std::string& text) {
    if (text == "true" || text == "True" || text == "TRUE") return "true";
    if (text == "false" || text == "False" || text == "FALSE") return "false";
    std::string_view digits = text;
    bool negative = !digits.empty() && digits[0] == '-';
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
        base = digits[1] == 'x' ? 16 : 8;
        digits.remove_prefix(2);
    }
    int64_t integer = 0;
    auto [int_end, int_ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), integer, base);
    if (!digits.empty() && int_ec == std::errc() && int_end == digits.data() + digits.size()) {
        return std::to_string(negative ? -integer : integer);
    }
    if (text == ".inf" || text == "+.inf" || text == ".Inf" || text == ".INF") return "inf";
    if (text == "-.inf" || text == "-.Inf" || text == "-.INF") return "-inf";
    if (text == ".nan" || text == ".NaN" || text == ".NAN") return "NaN";
    bool float_like = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
    });
    double real = 0;
    const char* begin = text.data() + (text.starts_with('+') ? 1 : 0);
    auto [real_end, real_ec] = std::from_chars(begin, text.data() + text.size(), real);
    if (float_like && real_ec == std::errc() && real_end == text.data() + text.size()) {
        return format_float(real);
    }
    return text;
}

class Parser;
using NodeKeyHandler = void (*)(Parser&, const YAML::Node& value, NodeDescriptor& node);

struct NodeKey {
    std::string_view name;
    NodeKeyHandler handle;
};

class Parser {
  public:
    explicit Parser(std::string file) : file_(std::move(file)) {}

    Result<Descriptor> parse(std::string_view text);

    // ---- used by the node key handlers ----
    void problem(const YAML::Node& at, std::string_view message);
    std::optional<std::string> optional_string(const YAML::Node& value, std::string_view key);
    std::optional<Deploy> deploy(const YAML::Node& value, std::string_view key);
    void id(const YAML::Node& value, NodeDescriptor& node);
    void path(const YAML::Node& value, NodeDescriptor& node);
    void env(const YAML::Node& value, NodeDescriptor& node);
    void inputs(const YAML::Node& value, NodeDescriptor& node);
    void outputs(const YAML::Node& value, NodeDescriptor& node);
    void restart_policy(const YAML::Node& value, NodeDescriptor& node);
    void max_restarts(const YAML::Node& value, NodeDescriptor& node);
    std::optional<double> seconds(const YAML::Node& value, std::string_view key);
    void unsupported(const YAML::Node& key_node, std::string_view key, std::string_view why);
    void min_log_level(const YAML::Node& value, NodeDescriptor& node);
    std::optional<QueuePolicy> queue_policy(const YAML::Node& value, std::string_view input_id);
    void node_deploy(const YAML::Node& value, NodeDescriptor& node, std::string_view key);
    void git_field(const YAML::Node& value, NodeDescriptor& node, std::string_view key);

  private:
    SourceLocation location(const YAML::Mark& mark) const;
    template <typename Visit>
    void for_each_entry(const YAML::Node& map, Visit visit);
    void root(const YAML::Node& root, Descriptor& descriptor);
    void operators(std::string_view key, const YAML::Node& value, NodeDescriptor& node);
    void shared_library_value(const YAML::Node& value, const std::string& text);
    void one_operator_kind(const YAML::Node& value, const NodeDescriptor& parsed);
    void operator_entry(const YAML::Node& entry, std::optional<std::string> default_id,
                        NodeDescriptor& node);
    void debug(std::string_view key, const YAML::Node& value, Descriptor& descriptor);
    void strict(const YAML::Node& value, Descriptor& descriptor);
    void node(const YAML::Node& entry, NodeDescriptor& node);
    void finish_node(const YAML::Node& entry, NodeDescriptor& node);
    std::optional<Input> input(const std::string& id, const YAML::Node& value);
    std::optional<InputSource> input_source(const YAML::Node& value, std::string_view input_id);
    std::optional<TimerSource> timer(const YAML::Node& at, std::string_view spelling,
                                     std::string_view timer_part);
    std::optional<uint32_t> queue_size(const YAML::Node& value, std::string_view input_id);

    std::string file_;
    std::string node_id_;  // the node being parsed, for messages; empty at the top level
    std::vector<std::string> problems_;
};

// Keys of a node entry, in the order the error message lists them.
const std::vector<NodeKey>& node_keys() {
    static const std::vector<NodeKey> keys = {
        {"id", [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.id(v, n); }},
        {"name", [](Parser& p, const YAML::Node& v,
                    NodeDescriptor& n) { n.name = p.optional_string(v, "name"); }},
        {"description",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.description = p.optional_string(v, "description");
         }},
        {"path", [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.path(v, n); }},
        {"args", [](Parser& p, const YAML::Node& v,
                    NodeDescriptor& n) { n.args = p.optional_string(v, "args"); }},
        {"env", [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.env(v, n); }},
        {"build", [](Parser& p, const YAML::Node& v,
                     NodeDescriptor& n) { n.build = p.optional_string(v, "build"); }},
        {"inputs", [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.inputs(v, n); }},
        {"outputs", [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.outputs(v, n); }},
        {"send_stdout_as",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.send_stdout_as = p.optional_string(v, "send_stdout_as");
         }},
        {"deploy",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.node_deploy(v, n, "deploy"); }},
        {"_unstable_deploy", [](Parser& p, const YAML::Node& v,
                                NodeDescriptor& n) { p.node_deploy(v, n, "_unstable_deploy"); }},
        {"restart_policy",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.restart_policy(v, n); }},
        {"max_restarts",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.max_restarts(v, n); }},
        {"restart_delay",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.restart_delay = p.seconds(v, "restart_delay");
         }},
        {"max_restart_delay",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.max_restart_delay = p.seconds(v, "max_restart_delay");
         }},
        {"restart_window",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.restart_window = p.seconds(v, "restart_window");
         }},
        {"send_logs_as",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) {
             n.send_logs_as = p.optional_string(v, "send_logs_as");
         }},
        {"min_log_level",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.min_log_level(v, n); }},
        // dora 1.x keys dora-cpp does not do yet: refused by name, never accepted and ignored.
        {"health_check_timeout",
         [](Parser& p, const YAML::Node& v, NodeDescriptor&) {
             p.unsupported(v, "health_check_timeout",
                           "a node that exits is reported at once; use restart_policy to restart "
                           "it");
         }},
        {"git",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.git_field(v, n, "git"); }},
        {"branch",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.git_field(v, n, "branch"); }},
        {"tag",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.git_field(v, n, "tag"); }},
        {"rev",
         [](Parser& p, const YAML::Node& v, NodeDescriptor& n) { p.git_field(v, n, "rev"); }},
    };
    return keys;
}

std::vector<std::string_view> node_key_names() {
    std::vector<std::string_view> names;
    for (const auto& key : node_keys()) names.push_back(key.name);
    return names;
}

// dora's operator-based node forms, which dora-cpp does not run.
bool is_operator_key(std::string_view key) {
    return key == "operator" || key == "operators" || key == "custom";
}

SourceLocation Parser::location(const YAML::Mark& mark) const {
    SourceLocation where{file_, 0, 0};
    if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
        where.line = mark.line + 1;
        where.column = mark.column + 1;
    }
    return where;
}

void Parser::problem(const YAML::Node& at, std::string_view message) {
    std::string where = format_location(location(at.Mark()));
    if (node_id_.empty()) {
        problems_.push_back(fmt::format("{}: {}", where, message));
    } else {
        problems_.push_back(fmt::format("{}: node \"{}\": {}", where, node_id_, message));
    }
}

// Calls visit(key_text, key_node, value_node) for each entry of a mapping, reporting keys that
// are not plain scalars or appear twice (yaml-cpp keeps duplicates; YAML forbids them).
template <typename Visit>
void Parser::for_each_entry(const YAML::Node& map, Visit visit) {
    std::set<std::string, std::less<>> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
        // Copies: the iterator's `->` yields a temporary proxy, so references into it dangle.
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        if (!key.IsScalar()) {
            problem(key, fmt::format("a key must be a plain name, not {}", type_name(key)));
            continue;
        }
        if (!seen.insert(key.Scalar()).second) {
            problem(key, fmt::format("key `{}` appears twice; keep one", key.Scalar()));
            continue;
        }
        visit(key.Scalar(), key, value);
    }
}

std::optional<std::string> Parser::optional_string(const YAML::Node& value, std::string_view key) {
    if (value.IsNull()) return std::nullopt;
    if (!value.IsScalar()) {
        problem(value, fmt::format("`{}` must be a single string, not {}", key, type_name(value)));
        return std::nullopt;
    }
    return value.Scalar();
}

Result<Descriptor> Parser::parse(std::string_view text) {
    YAML::Node root_node;
    try {
        root_node = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return fail("{}: invalid YAML: {}; fix the syntax at that spot",
                    format_location(location(e.mark)), e.msg);
    } catch (const std::exception& e) {
        return fail("{}: cannot read YAML: {}", file_, e.what());
    }
    Descriptor descriptor;
    root(root_node, descriptor);
    if (!problems_.empty()) {
        std::string all;
        for (const auto& line : problems_) {
            if (!all.empty()) all += '\n';
            all += line;
        }
        return fail(Error(std::move(all)));
    }
    return descriptor;
}

void Parser::root(const YAML::Node& root_node, Descriptor& descriptor) {
    static const std::vector<std::string_view> kKeys = {
        "nodes",           "env",   "deploy", "_unstable_deploy", "communication",
        "_unstable_debug", "debug", "strict"};
    if (!root_node.IsMap()) {
        problem(root_node,
                fmt::format("a dataflow must be a mapping with a `nodes:` list, not {}; start "
                            "the file with `nodes:`",
                            type_name(root_node)));
        return;
    }
    bool has_nodes = false;
    bool has_deploy = false;
    for_each_entry(root_node, [&](const std::string& key, const YAML::Node& key_node,
                                  const YAML::Node& value) {
        if (key == "nodes") {
            has_nodes = true;
            if (!value.IsSequence() && !value.IsNull()) {
                problem(value, fmt::format("`nodes` must be a list of `- id: ...` entries, not {}",
                                           type_name(value)));
                return;
            }
            for (const auto& entry : value) {
                NodeDescriptor parsed;
                node(entry, parsed);
                descriptor.nodes.push_back(std::move(parsed));
                node_id_.clear();
            }
        } else if (key == "deploy" || key == "_unstable_deploy") {
            if (has_deploy) {
                problem(key_node, "both `deploy` and `_unstable_deploy` are set; keep one");
            }
            has_deploy = true;
            descriptor.deploy = deploy(value, key);
        } else if (key == "env") {
            // dora 1.x: environment for every node; a node's own `env` wins.
            NodeDescriptor holder;
            env(value, holder);
            descriptor.env = std::move(holder.env);
        } else if (key == "communication") {
            // dora 0.3.12 settings for its own transports; dora-cpp chooses transports itself.
            if (!value.IsMap() && !value.IsNull()) {
                problem(value,
                        fmt::format("`{}` must be a mapping, not {}", key, type_name(value)));
            }
        } else if (key == "_unstable_debug" || key == "debug") {
            debug(key, value, descriptor);
        } else if (key == "strict") {
            strict(value, descriptor);
        } else {
            problem(key_node, fmt::format("unknown key `{}`{} at the top level; the keys are: {}",
                                          key, did_you_mean(key, kKeys), join(kKeys, ", ")));
        }
    });
    if (!has_nodes) {
        problem(root_node, "the dataflow has no `nodes:` list; add one");
    }
    for (auto& node : descriptor.nodes) {
        for (const auto& [name, value] : descriptor.env) {
            node.env.try_emplace(name, value);  // the node's own value wins
        }
    }
}

// `strict: B` (ours, not dora's): a run that dropped messages fails.
void Parser::strict(const YAML::Node& value, Descriptor& descriptor) {
    const std::string text = value.IsScalar() ? value.Scalar() : "";
    if (text == "true" || text == "True") {
        descriptor.strict = true;
    } else if (text != "false" && text != "False") {
        problem(value, fmt::format("`strict` must be true or false, not {}",
                                   value.IsScalar() ? "\"" + text + "\"" : type_name(value)));
    }
}

// `_unstable_debug: {publish_all_messages_to_zenoh: B}` (0.3.12) and `debug:
// {enable_debug_inspection: B}` (1.x): one flag, set when either says true.
void Parser::debug(std::string_view key, const YAML::Node& value, Descriptor& descriptor) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
        problem(value, fmt::format("`{}` must be a mapping, not {}", key, type_name(value)));
        return;
    }
    const std::string_view flag =
        key == "debug" ? "enable_debug_inspection" : "publish_all_messages_to_zenoh";
    for_each_entry(
        value, [&](const std::string& name, const YAML::Node& key_node, const YAML::Node& v) {
            if (name != flag) {
                problem(key_node,
                        fmt::format("unknown key `{}` in `{}`; the key is: {}", name, key, flag));
                return;
            }
            const std::string text = v.IsScalar() ? v.Scalar() : "";
            if (text == "true" || text == "True") {
                descriptor.debug_inspection = true;
            } else if (text != "false" && text != "False") {
                problem(v, fmt::format("`{}.{}` must be true or false", key, flag));
            }
        });
}

// dora's runtime nodes: `operators:` (a list) or `operator:` (one, id "op" unless given). Each
// operator's inputs and outputs become the node's "<operator>/<id>" inputs and outputs.
void Parser::operators(std::string_view key, const YAML::Node& value, NodeDescriptor& parsed) {
    if (!parsed.operators.empty() || parsed.kind == NodeKind::kOperators) {
        problem(value, "give either `operators:` or `operator:`, once");
        return;
    }
    parsed.kind = NodeKind::kOperators;
    if (key == "operator") {
        operator_entry(value, "op", parsed);
        return;
    }
    if (!value.IsSequence() || value.size() == 0) {
        problem(value, "`operators` must be a non-empty list of `- id: ...` entries");
        return;
    }
    for (const auto& entry : value) {
        operator_entry(entry, std::nullopt, parsed);
    }
    one_operator_kind(value, parsed);
}

// `shared-library:`'s value: a path with a file name; URLs (which dora downloads) are refused.
void Parser::shared_library_value(const YAML::Node& value, const std::string& text) {
    if (text.empty() || text.back() == '/') {
        problem(value,
                "`shared-library` must name the operator's library, e.g. `build/my_op` "
                "for build/libmy_op.so");
    } else if (text.starts_with("http://") || text.starts_with("https://")) {
        problem(value,
                "a `shared-library` URL is not supported by dora-cpp (dora downloads "
                "it); download the library and name the file");
    }
}

// Python operators run in a Python runtime process, shared libraries in dora-runtime: one node
// cannot hold both kinds.
void Parser::one_operator_kind(const YAML::Node& value, const NodeDescriptor& parsed) {
    const auto& ops = parsed.operators;
    auto python = std::find_if(ops.begin(), ops.end(),
                               [](const auto& op) { return op.shared_library.empty(); });
    auto shared = std::find_if(ops.begin(), ops.end(),
                               [](const auto& op) { return !op.shared_library.empty(); });
    if (python == ops.end() || shared == ops.end()) return;
    problem(value, fmt::format("operator `{}` (python) and operator `{}` (shared-library) cannot "
                               "run in one node: dora-cpp runs Python operators and shared-library "
                               "operators in different runtime processes; put them in two nodes",
                               python->id, shared->id));
}

void Parser::operator_entry(const YAML::Node& entry, std::optional<std::string> default_id,
                            NodeDescriptor& parsed) {
    if (!entry.IsMap()) {
        problem(entry, fmt::format("an operator must be a mapping with `id`, `python`, `inputs` "
                                   "and `outputs`, not {}",
                                   type_name(entry)));
        return;
    }
    OperatorDescriptor op;
    op.location = location(entry.Mark());
    op.id = default_id.value_or("");
    NodeDescriptor io;  // the operator's inputs and outputs, parsed as a node's
    for_each_entry(entry, [&](const std::string& key, const YAML::Node& key_node,
                              const YAML::Node& v) {
        if (key == "id") {
            op.id = v.IsScalar() ? v.Scalar() : "";
            if (op.id.empty() || op.id.find('/') != std::string::npos) {
                problem(v, "an operator `id` must be a non-empty name without `/`");
            }
        } else if (key == "name" || key == "description") {
            (void)optional_string(v, key);  // documentation only, as in dora
        } else if (key == "python") {
            if (v.IsMap()) {
                const YAML::Node source = v["source"];
                if (v["conda_env"]) {
                    problem(v["conda_env"],
                            "`conda_env` is not supported by dora-cpp; run the "
                            "dataflow from the environment the operator needs");
                }
                op.python = source && source.IsScalar() ? source.Scalar() : "";
            } else {
                op.python = v.IsScalar() ? v.Scalar() : "";
            }
            if (op.python.empty()) {
                problem(v, "`python` must name the operator's .py file");
            }
        } else if (key == "shared-library") {
            op.shared_library = v.IsScalar() ? v.Scalar() : "";
            shared_library_value(v, op.shared_library);
        } else if (key == "wasm") {
            problem(key_node,
                    "`wasm` operators are not supported by dora-cpp (Python and shared-library "
                    "operators are); build the code as a node (`path:` with `inputs:` and "
                    "`outputs:`) or as a shared-library operator instead");
        } else if (key == "inputs") {
            inputs(v, io);
        } else if (key == "outputs") {
            outputs(v, io);
        } else if (key == "build" || key == "send_stdout_as" || key == "send_logs_as" ||
                   key == "min_log_level") {
            problem(key_node, fmt::format("`{}` on an operator is not supported by dora-cpp yet; "
                                          "put it on the runtime node",
                                          key));
        } else {
            problem(key_node, fmt::format("unknown operator key `{}`; the keys are: id, name, "
                                          "description, python, shared-library, inputs, "
                                          "outputs",
                                          key));
        }
    });
    if (op.id.empty()) {
        problem(entry, "operator has no `id`; add `id: <name>`");
        return;
    }
    if (entry["python"] && entry["shared-library"]) {
        problem(entry, fmt::format("operator `{}` has both `python:` and `shared-library:`; "
                                   "keep one",
                                   op.id));
    } else if (!entry["python"] && !entry["shared-library"] && !entry["wasm"]) {
        problem(entry,
                fmt::format("operator `{}` has no `python:` file or `shared-library:`", op.id));
    }
    for (auto& input : io.inputs) {
        op.inputs.push_back(input.id);
        input.id = op.id + "/" + input.id;
        parsed.inputs.push_back(std::move(input));
    }
    for (auto& output : io.outputs) {
        op.outputs.push_back(output);
        parsed.outputs.push_back(op.id + "/" + output);
    }
    parsed.output_locations.insert(parsed.output_locations.end(), io.output_locations.begin(),
                                   io.output_locations.end());
    for (const auto& other : parsed.operators) {
        if (other.id == op.id) {
            problem(entry, fmt::format("operator `{}` is defined twice in this node", op.id));
        }
    }
    parsed.operators.push_back(std::move(op));
}

void Parser::node(const YAML::Node& entry, NodeDescriptor& parsed) {
    parsed.location = location(entry.Mark());
    if (!entry.IsMap()) {
        problem(entry, fmt::format("each entry of `nodes` must be a mapping like `- id: name`, "
                                   "not {}",
                                   type_name(entry)));
        return;
    }
    // The id first, so that every message about this node can name it.
    if (const YAML::Node id_node = entry["id"]; id_node && id_node.IsScalar()) {
        node_id_ = id_node.Scalar();
    }
    static const std::vector<std::string_view> kNames = node_key_names();
    for_each_entry(
        entry, [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
            parsed.key_locations[key] = location(key_node.Mark());
            const auto& keys = node_keys();
            auto found = std::find_if(keys.begin(), keys.end(),
                                      [&](const NodeKey& known) { return known.name == key; });
            if (found != keys.end()) {
                found->handle(*this, value, parsed);
            } else if (key == "operators" || key == "operator") {
                operators(key, value, parsed);
            } else if (key == "custom") {
                problem(key_node,
                        "`custom` (dora's old node spelling) is not supported; write `path:`, "
                        "`args:`, `inputs:` and `outputs:` directly on the node");
            } else {
                problem(key_node, fmt::format("unknown key `{}`{}; the node keys are: {}", key,
                                              did_you_mean(key, kNames), join(kNames, ", ")));
            }
        });
    finish_node(entry, parsed);
}

void Parser::finish_node(const YAML::Node& entry, NodeDescriptor& parsed) {
    if (!entry["id"]) {
        problem(entry, "node has no `id`; add `id: <unique name>`");
    }
    if (entry["operators"] || entry["operator"]) {
        parsed.kind = NodeKind::kOperators;
        for (const char* key : {"path", "args", "inputs", "outputs"}) {
            if (entry[key]) {
                problem(entry[key], fmt::format("a runtime node (`operators:`/`operator:`) has no "
                                                "`{}`; {}",
                                                key,
                                                std::string_view(key) == "inputs" ||
                                                        std::string_view(key) == "outputs"
                                                    ? "give them to its operators"
                                                    : "remove it"));
            }
        }
    }
    if (!entry["path"] && std::none_of(entry.begin(), entry.end(), [](const auto& kv) {
            return kv.first.IsScalar() && is_operator_key(kv.first.Scalar());
        })) {
        problem(entry,
                "node has no `path`; add `path: <executable>`, `path: <script>.py`, "
                "`path: shell` (with `args:`) or `path: dynamic`");
    }
    if (parsed.restart_delay && parsed.max_restart_delay &&
        *parsed.max_restart_delay < *parsed.restart_delay) {
        problem(entry["max_restart_delay"],
                fmt::format("`max_restart_delay` ({} s) is below `restart_delay` ({} s); the cap "
                            "must be at least the first delay",
                            *parsed.max_restart_delay, *parsed.restart_delay));
    }
    if (!parsed.git) return;
    if (!entry["git"]) {
        problem(entry, "`branch`, `tag` and `rev` need `git: <repository url>`");
        parsed.git.reset();
        return;
    }
    int revisions =
        parsed.git->branch.has_value() + parsed.git->tag.has_value() + parsed.git->rev.has_value();
    if (revisions > 1) {
        problem(entry, "give at most one of `branch`, `tag` and `rev`");
    }
    if (parsed.kind == NodeKind::kDynamic || parsed.kind == NodeKind::kOperators) {
        problem(entry["git"],
                "`git:` fetches the source of a spawned node: give it `path:` (a file in the "
                "repository, or `shell`); dynamic nodes and operators cannot have one");
    } else if (is_url_path(parsed.path)) {
        problem(entry["path"],
                "a `git:` node's `path` is a file in the repository, not a URL; drop one of them");
    }
}

void Parser::id(const YAML::Node& value, NodeDescriptor& parsed) {
    if (!value.IsScalar() || value.Scalar().empty()) {
        problem(value, "`id` must be a non-empty name, e.g. `id: camera`");
        return;
    }
    parsed.id = value.Scalar();
}

void Parser::path(const YAML::Node& value, NodeDescriptor& parsed) {
    auto text = optional_string(value, "path");
    if (!text || text->empty()) {
        if (value.IsNull() || (text && text->empty())) {
            problem(value,
                    "`path` is empty; name an executable, a .py script, `shell` or "
                    "`dynamic`");
        }
        return;
    }
    parsed.path = *text;
    if (parsed.path == "shell") {
        parsed.kind = NodeKind::kShell;
    } else if (parsed.path == "dynamic") {
        parsed.kind = NodeKind::kDynamic;
    } else if (parsed.path.ends_with(".py")) {
        parsed.kind = NodeKind::kPython;
    } else {
        parsed.kind = NodeKind::kExecutable;
    }
}

void Parser::env(const YAML::Node& value, NodeDescriptor& parsed) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
        problem(value,
                fmt::format("`env` must be a mapping of NAME: value, not {}", type_name(value)));
        return;
    }
    for_each_entry(value, [&](const std::string& name, const YAML::Node&, const YAML::Node& v) {
        if (!v.IsScalar()) {
            problem(v, fmt::format("env `{}` must be a string, number or bool, not {}; quote it "
                                   "(\"\") for an empty value",
                                   name, type_name(v)));
            return;
        }
        parsed.env[name] = v.Tag() == "?" ? env_value_text(v.Scalar()) : v.Scalar();
    });
}

void Parser::outputs(const YAML::Node& value, NodeDescriptor& parsed) {
    if (value.IsNull()) return;
    if (!value.IsSequence()) {
        problem(value, fmt::format("`outputs` must be a list like `[out, status]`, not {}",
                                   type_name(value)));
        return;
    }
    for (const auto& item : value) {
        if (!item.IsScalar() || item.Scalar().empty()) {
            problem(item, "each output must be a non-empty name");
            continue;
        }
        parsed.outputs.push_back(item.Scalar());
        parsed.output_locations.push_back(location(item.Mark()));
    }
}

void Parser::inputs(const YAML::Node& value, NodeDescriptor& parsed) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
        problem(value, fmt::format("`inputs` must be a mapping of `input_id: node/output`, not {}",
                                   type_name(value)));
        return;
    }
    // Not for_each_entry: a duplicated input id is kept so that validate() reports it.
    for (auto it = value.begin(); it != value.end(); ++it) {
        const YAML::Node key = it->first;
        const YAML::Node source = it->second;
        if (!key.IsScalar() || key.Scalar().empty()) {
            problem(key, "an input id must be a non-empty name");
            continue;
        }
        if (auto parsed_input = input(key.Scalar(), source)) {
            parsed.inputs.push_back(std::move(*parsed_input));
        }
    }
}

std::optional<Input> Parser::input(const std::string& id, const YAML::Node& value) {
    Input parsed;
    parsed.id = id;
    if (value.IsScalar()) {
        auto source = input_source(value, id);
        if (!source) return std::nullopt;
        parsed.source = std::move(*source);
        parsed.location = location(value.Mark());
        return parsed;
    }
    if (!value.IsMap()) {
        problem(value, fmt::format("input \"{}\" must be `node/output` or "
                                   "`{{source: node/output, queue_size: N}}`, not {}",
                                   id, type_name(value)));
        return std::nullopt;
    }
    bool ok = true;
    bool has_source = false;
    for_each_entry(value, [&](const std::string& key, const YAML::Node& key_node,
                              const YAML::Node& v) {
        if (key == "source") {
            has_source = true;
            auto source = v.IsScalar() ? input_source(v, id) : std::nullopt;
            if (!v.IsScalar()) {
                problem(v, fmt::format("input \"{}\": `source` must be `node/output`", id));
            }
            ok = ok && source.has_value();
            if (source) parsed.source = std::move(*source);
            parsed.location = location(v.Mark());
        } else if (key == "queue_size") {
            auto size = queue_size(v, id);
            ok = ok && size.has_value();
            if (size) parsed.queue_size = *size;
        } else if (key == "queue_policy") {
            auto policy = queue_policy(v, id);
            ok = ok && policy.has_value();
            if (policy) parsed.queue_policy = *policy;
        } else if (key == "input_timeout") {
            auto timeout = seconds(v, "input_timeout");
            if (timeout && *timeout <= 0) {
                problem(v, fmt::format("input \"{}\": `input_timeout` must be more than 0 "
                                       "seconds, like 2.5",
                                       id));
                timeout.reset();
            }
            ok = ok && timeout.has_value();
            parsed.input_timeout = timeout;
        } else {
            problem(key_node, fmt::format("input \"{}\": unknown key `{}`; the keys are: source, "
                                          "queue_size, queue_policy, input_timeout",
                                          id, key));
            ok = false;
        }
    });
    if (!has_source) {
        problem(value, fmt::format("input \"{}\" has no `source`; add `source: node/output`", id));
        return std::nullopt;
    }
    return ok ? std::optional<Input>(std::move(parsed)) : std::nullopt;
}

std::optional<InputSource> Parser::input_source(const YAML::Node& value,
                                                std::string_view input_id) {
    std::string_view text = value.Scalar();
    size_t slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
        problem(value, fmt::format("input \"{}\": \"{}\" is not a source; write `<node>/<output>` "
                                   "or a timer like `dora/timer/millis/100`",
                                   input_id, text));
        return std::nullopt;
    }
    std::string_view source_node = text.substr(0, slash);
    std::string_view rest = text.substr(slash + 1);
    if (source_node != "dora") {
        return NodeOutputSource{std::string(source_node), std::string(rest)};
    }
    if (!rest.starts_with("timer/")) {
        problem(value, fmt::format("input \"{}\": unknown dora input \"{}\"; dora provides only "
                                   "timers: dora/timer/secs/N, dora/timer/millis/N, "
                                   "dora/timer/hz/N",
                                   input_id, text));
        return std::nullopt;
    }
    auto parsed = timer(value, text, rest.substr(6));
    if (!parsed) return std::nullopt;
    return *parsed;
}

std::optional<TimerSource> Parser::timer(const YAML::Node& at, std::string_view spelling,
                                         std::string_view timer_part) {
    size_t slash = timer_part.find('/');
    std::string_view unit = timer_part.substr(0, slash);
    std::string_view number =
        slash == std::string_view::npos ? std::string_view{} : timer_part.substr(slash + 1);
    auto bad = [&](std::string_view why) {
        problem(at, fmt::format("bad timer \"{}\": {}; write e.g. dora/timer/millis/100, "
                                "dora/timer/secs/2 or dora/timer/hz/30",
                                spelling, why));
        return std::nullopt;
    };
    TimerSource parsed;
    parsed.spelling = std::string(spelling);
    if (unit == "secs" || unit == "millis") {
        auto count = parse_u64(number);
        if (!count) return bad(fmt::format("\"{}\" is not a positive whole number", number));
        if (*count == 0) return bad("the interval must be greater than zero");
        uint64_t per_unit = unit == "secs" ? 1'000'000'000 : 1'000'000;
        if (*count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / per_unit) {
            return bad("the interval is too long");
        }
        parsed.interval = std::chrono::nanoseconds(static_cast<int64_t>(*count * per_unit));
        return parsed;
    }
    if (unit == "hz") {
        double hz = 0;
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), hz);
        if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
            return bad(fmt::format("\"{}\" is not a number", number));
        }
        if (!std::isfinite(hz) || hz <= 0) return bad("the frequency must be greater than zero");
        if (hz > kMaxTimerHz) return bad("the frequency is above 1 GHz");
        parsed.interval = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(1e9 / hz)));
        return parsed;
    }
    return bad(fmt::format("unknown unit \"{}\" (the units are secs, millis and hz)", unit));
}

std::optional<uint32_t> Parser::queue_size(const YAML::Node& value, std::string_view input_id) {
    std::string_view text = value.IsScalar() ? std::string_view(value.Scalar()) : "";
    std::string why;
    auto size = parse_u64(text);
    if (size && *size >= 1 && *size <= kMaxQueueSize) return static_cast<uint32_t>(*size);
    if (!value.IsScalar()) {
        why = fmt::format("it is {}", type_name(value));
    } else if (text.starts_with('-')) {
        why = fmt::format("{} is negative", text);
    } else if (size && *size == 0) {
        why = "0 would drop every message";
    } else if (size || all_digits(text)) {
        why = fmt::format("{} is above the limit of {}", text, kMaxQueueSize);
    } else {
        why = fmt::format("\"{}\" is not a whole number", text);
    }
    problem(value, fmt::format("input \"{}\": bad queue_size: {}; use a whole number from 1 to {}",
                               input_id, why, kMaxQueueSize));
    return std::nullopt;
}

void Parser::restart_policy(const YAML::Node& value, NodeDescriptor& parsed) {
    std::string_view text = value.IsScalar() ? std::string_view(value.Scalar()) : "";
    if (text == "never") {
        parsed.restart_policy = RestartPolicy::kNever;
    } else if (text == "on-failure") {
        parsed.restart_policy = RestartPolicy::kOnFailure;
    } else if (text == "always") {
        parsed.restart_policy = RestartPolicy::kAlways;
    } else {
        problem(value,
                fmt::format("bad restart_policy \"{}\"; use never, on-failure or always", text));
    }
}

void Parser::max_restarts(const YAML::Node& value, NodeDescriptor& parsed) {
    auto count = value.IsScalar() ? parse_u64(value.Scalar()) : std::nullopt;
    if (!count || *count > std::numeric_limits<uint32_t>::max()) {
        problem(value, "`max_restarts` must be a whole number (0 or more)");
        return;
    }
    parsed.max_restarts = static_cast<uint32_t>(*count);
}

std::optional<double> Parser::seconds(const YAML::Node& value, std::string_view key) {
    double v = 0;
    const std::string text = value.IsScalar() ? value.Scalar() : "";
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !(v >= 0) ||
        v > 1e9) {
        problem(value, fmt::format("`{}` must be a number of seconds (0 or more), like 1.5", key));
        return std::nullopt;
    }
    return v;
}

std::optional<QueuePolicy> Parser::queue_policy(const YAML::Node& value,
                                                std::string_view input_id) {
    const std::string policy = value.IsScalar() ? value.Scalar() : "";
    if (policy == "drop_oldest") return QueuePolicy::kDropOldest;
    if (policy == "backpressure") return QueuePolicy::kBackpressure;
    problem(value, fmt::format("input \"{}\": bad queue_policy \"{}\"; use drop_oldest (the "
                               "default) or backpressure",
                               input_id, policy));
    return std::nullopt;
}

void Parser::min_log_level(const YAML::Node& value, NodeDescriptor& node) {
    const std::string text = value.IsScalar() ? value.Scalar() : "";
    if (auto level = parse_log_level(text)) {
        node.min_log_level = *level;
        return;
    }
    problem(value, fmt::format("bad min_log_level \"{}\"; use one of error, warn, info, debug, "
                               "trace, stdout",
                               text));
}

void Parser::unsupported(const YAML::Node& at, std::string_view key, std::string_view why) {
    problem(at, fmt::format("`{}` (a dora 1.x key) is not supported by dora-cpp yet: {}; remove it",
                            key, why));
}

std::optional<Deploy> Parser::deploy(const YAML::Node& value, std::string_view key) {
    if (value.IsNull()) return Deploy{};
    if (!value.IsMap()) {
        problem(value, fmt::format("`{}` must be a mapping with `machine` and/or `working_dir`, "
                                   "not {}",
                                   key, type_name(value)));
        return std::nullopt;
    }
    Deploy parsed;
    for_each_entry(value, [&](const std::string& name, const YAML::Node& name_node,
                              const YAML::Node& v) {
        if (name == "machine") {
            parsed.machine = optional_string(v, "machine");
        } else if (name == "working_dir") {
            parsed.working_dir = optional_string(v, "working_dir");
        } else if (name == "labels") {
            if (!v.IsMap() && !v.IsNull()) {
                problem(v, fmt::format("`{}.labels` must be a mapping like `{{gpu: \"true\", "
                                       "zone: edge}}`, not {}",
                                       key, type_name(v)));
                return;
            }
            for_each_entry(v, [&](const std::string& label, const YAML::Node&,
                                  const YAML::Node& label_value) {
                if (!label_value.IsScalar() || label.empty() ||
                    label.find_first_of("=,") != std::string::npos) {
                    problem(label_value, fmt::format("label `{}` must be a name (no `=` or `,`) "
                                                     "with a string, number or bool value",
                                                     label));
                    return;
                }
                parsed.labels[label] = label_value.Tag() == "?"
                                           ? env_value_text(label_value.Scalar())
                                           : label_value.Scalar();
            });
        } else {
            problem(name_node, fmt::format("unknown key `{}` in `{}`; the keys are: machine, "
                                           "working_dir",
                                           name, key));
        }
    });
    return parsed;
}

void Parser::node_deploy(const YAML::Node& value, NodeDescriptor& parsed, std::string_view key) {
    bool other_present =
        parsed.key_locations.contains(key == "deploy" ? "_unstable_deploy" : "deploy");
    if (other_present) {
        problem(value, "both `deploy` and `_unstable_deploy` are set; keep one");
        return;
    }
    if (auto found = deploy(value, key)) parsed.deploy = *found;
}

void Parser::git_field(const YAML::Node& value, NodeDescriptor& parsed, std::string_view key) {
    auto text = optional_string(value, key);
    if (!text) return;
    // These become git command-line arguments: nothing that reads as an option.
    if (text->empty() || text->front() == '-') {
        problem(value, fmt::format("`{}` must be a {} that does not start with '-'", key,
                                   key == "git" ? "repository URL" : "name"));
        return;
    }
    if (!parsed.git) parsed.git.emplace();
    if (key == "git") parsed.git->repo = *text;
    if (key == "branch") parsed.git->branch = *text;
    if (key == "tag") parsed.git->tag = *text;
    if (key == "rev") parsed.git->rev = *text;
}

}  // namespace

Result<Descriptor> parse_descriptor(std::string_view yaml_text,
                                    const std::filesystem::path& file_name) {
    std::string display = file_name.empty() ? std::string("<dataflow>") : file_name.string();
    auto parsed = Parser(display).parse(yaml_text);
    if (!parsed) return parsed;
    if (!file_name.empty()) {
        std::error_code ec;
        std::filesystem::path absolute = std::filesystem::absolute(file_name, ec);
        parsed->source_file = ec ? file_name : absolute.lexically_normal();
        parsed->base_dir = parsed->source_file.parent_path();
    }
    return parsed;
}

Result<Descriptor> read_descriptor(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail("cannot open dataflow file {}: {}; check the path", file.string(),
                    std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return fail("cannot read dataflow file {}", file.string());
    return parse_descriptor(text.str(), file);
}

}  // namespace dora
