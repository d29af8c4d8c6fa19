#include "cli/cluster_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/suggest.hpp"

namespace dora::cli {
namespace {

std::string join(const std::vector<std::string_view>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + std::string(item);
    return out;
}

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

bool env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

class Parser {
  public:
    explicit Parser(std::filesystem::path path) : path_(std::move(path)) { file_.path = path_; }

    Result<ClusterFile> parse(std::string_view text);

  private:
    void problem(const YAML::Node& at, std::string_view message) {
        const auto mark = at.Mark();
        problems_ += fmt::format("{}{}:{}:{}: {}", problems_.empty() ? "" : "\n", path_.string(),
                                 mark.line + 1, mark.column + 1, message);
    }
    // Calls `each(key, key_node, value)` per entry of mapping `node`; refuses keys not in `known`.
    template <typename Each>
    void keys(const YAML::Node& node, std::string_view where,
              const std::vector<std::string_view>& known, Each each);
    std::optional<std::string> scalar(const YAML::Node& value, std::string_view key);
    std::optional<uint16_t> port(const YAML::Node& value, std::string_view key);
    std::map<std::string, std::string> string_map(const YAML::Node& value, std::string_view key,
                                                  bool labels);
    std::string local_path(const std::string& value) const;

    void coordinator(const YAML::Node& node);
    void ssh(const YAML::Node& node);
    void machines(const YAML::Node& node);
    void machine(const YAML::Node& node);
    void service(const YAML::Node& value, ClusterMachine& m);
    void check_machines();

    std::filesystem::path path_;
    ClusterFile file_;
    std::string problems_;
    std::vector<YAML::Node> machine_nodes_;
};

template <typename Each>
void Parser::keys(const YAML::Node& node, std::string_view where,
                  const std::vector<std::string_view>& known, Each each) {
    if (!node.IsMap()) {
        problem(node, fmt::format("{} must be a mapping", where));
        return;
    }
    for (const auto& entry : node) {
        const std::string key = entry.first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            problem(entry.first, fmt::format("unknown key `{}`{} in {}; the keys are: {}", key,
                                             did_you_mean(key, known), where, join(known)));
            continue;
        }
        each(key, entry.second);
    }
}

std::optional<std::string> Parser::scalar(const YAML::Node& value, std::string_view key) {
    if (!value.IsScalar() || value.Scalar().empty()) {
        problem(value, fmt::format("`{}` must be a non-empty text", key));
        return std::nullopt;
    }
    return value.Scalar();
}

std::optional<uint16_t> Parser::port(const YAML::Node& value, std::string_view key) {
    const std::string text = value.IsScalar() ? value.Scalar() : "";
    unsigned number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number == 0 ||
        number > 65535) {
        problem(value, fmt::format("`{}` must be a port number from 1 to 65535, not `{}`", key,
                                   value.IsScalar() ? text : "a " + std::string(key) + " list"));
        return std::nullopt;
    }
    return static_cast<uint16_t>(number);
}

std::map<std::string, std::string> Parser::string_map(const YAML::Node& value, std::string_view key,
                                                      bool labels) {
    std::map<std::string, std::string> out;
    if (value.IsNull()) return out;
    if (!value.IsMap()) {
        problem(value, fmt::format("`{}` must be a mapping of names to values", key));
        return out;
    }
    for (const auto& entry : value) {
        const std::string name = entry.first.Scalar();
        if (!entry.second.IsScalar()) {
            problem(entry.second, fmt::format("`{}.{}` must be a single value", key, name));
            continue;
        }
        const std::string text = entry.second.Scalar();
        if (labels && (name.empty() || name.find_first_of(",=") != std::string::npos ||
                       text.empty() || text.find(',') != std::string::npos)) {
            problem(entry.first, fmt::format("label `{}: {}`: names and values must be non-empty "
                                             "and hold no `,` (and names no `=`)",
                                             name, text));
            continue;
        }
        if (!labels && !env_name(name)) {
            problem(entry.first, fmt::format("`{}`: `{}` is not a variable name (letters, digits "
                                             "and `_`, not starting with a digit)",
                                             key, name));
            continue;
        }
        out[name] = text;
    }
    return out;
}

std::string Parser::local_path(const std::string& value) const {
    std::filesystem::path p(value);
    if (value.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        p = std::filesystem::path(home != nullptr ? home : "") / value.substr(2);
    }
    if (p.is_relative()) p = path_.parent_path() / p;
    return std::filesystem::absolute(p).lexically_normal().string();
}

void Parser::coordinator(const YAML::Node& node) {
    bool has_addr = false;
    keys(node, "`coordinator`", {"addr", "port", "control_port"},
         [&](const std::string& key, const YAML::Node& value) {
             if (key == "addr") {
                 has_addr = true;
                 if (auto v = scalar(value, "coordinator.addr")) file_.coordinator_addr = *v;
             } else if (key == "port") {
                 if (auto v = port(value, "coordinator.port")) file_.coordinator_port = *v;
             } else if (auto v = port(value, "coordinator.control_port")) {
                 file_.control_port = *v;
             }
         });
    if (node.IsMap() && !has_addr) {
        problem(node,
                "`coordinator` has no `addr`: add the address the machines reach this "
                "machine at (`addr: 10.0.0.1`)");
    }
}

void Parser::ssh(const YAML::Node& node) {
    keys(node, "`ssh`", {"config", "options"}, [&](const std::string& key, const YAML::Node& v) {
        if (key == "config") {
            if (auto text = scalar(v, "ssh.config")) file_.ssh_config = local_path(*text);
            return;
        }
        if (!v.IsSequence()) {
            problem(v,
                    "`ssh.options` must be a list of ssh options, e.g. "
                    "`[ConnectTimeout=5, StrictHostKeyChecking=accept-new]`");
            return;
        }
        for (const auto& item : v) {
            auto text = scalar(item, "ssh.options[]");
            if (!text) continue;
            if (text->find('=') == std::string::npos && text->find(' ') == std::string::npos) {
                problem(item,
                        fmt::format("ssh option `{}` has no value; write `Name=value`", *text));
                continue;
            }
            file_.ssh_options.push_back(*text);
        }
    });
}

void Parser::service(const YAML::Node& value, ClusterMachine& m) {
    static const std::pair<const char*, ServiceKind> kKinds[] = {
        {"auto", ServiceKind::kAuto},
        {"systemd", ServiceKind::kSystemd},
        {"process", ServiceKind::kProcess},
    };
    const std::string text = value.IsScalar() ? value.Scalar() : "";
    for (const auto& [name, kind] : kKinds) {
        if (text == name) {
            m.service = kind;
            return;
        }
    }
    problem(value, fmt::format("`service: {}`: use `auto` (the default: systemd where it runs, "
                               "else a supervised process), `systemd` or `process`",
                               text));
}

void Parser::machine(const YAML::Node& node) {
    ClusterMachine m;
    bool has_id = false;
    bool has_host = false;
    keys(node, "a machine",
         {"id", "host", "user", "port", "daemon_port", "labels", "env", "dir", "identity_file",
          "service"},
         [&](const std::string& key, const YAML::Node& value) {
             if (key == "id") {
                 has_id = true;
                 auto id = scalar(value, "id");
                 if (id && !std::all_of(id->begin(), id->end(), id_char)) {
                     problem(value, fmt::format("machine id `{}`: use letters, digits, `-`, `_` "
                                                "and `.` (it names files and services there)",
                                                *id));
                 } else if (id) {
                     m.id = *id;
                 }
             } else if (key == "host") {
                 has_host = true;
                 if (auto v = scalar(value, "host")) m.host = *v;
             } else if (key == "user") {
                 if (auto v = scalar(value, "user")) m.user = *v;
             } else if (key == "port") {
                 m.ssh_port = port(value, "port");
             } else if (key == "daemon_port") {
                 if (auto v = port(value, "daemon_port")) m.daemon_port = *v;
             } else if (key == "labels" || key == "env") {
                 (key == "labels" ? m.labels : m.env) = string_map(value, key, key == "labels");
             } else if (key == "dir") {
                 if (auto v = scalar(value, "dir")) m.dir = *v;
             } else if (key == "identity_file") {
                 if (auto v = scalar(value, "identity_file")) m.identity_file = local_path(*v);
             } else {
                 service(value, m);
             }
         });
    if (!node.IsMap()) return;
    if (!has_id) problem(node, "a machine has no `id`: add one (`id: edge1`)");
    if (!has_host) {
        problem(node,
                fmt::format("machine `{}` has no `host`: add its ssh host name or address", m.id));
    }
    file_.machines.push_back(std::move(m));
    machine_nodes_.push_back(node);
}

void Parser::machines(const YAML::Node& node) {
    if (!node.IsSequence() || node.size() == 0) {
        problem(node,
                "`machines` must be a list of at least one machine (`- id: edge1`, "
                "`host: 10.0.0.2`)");
        return;
    }
    for (const auto& item : node) machine(item);
}

// Ids once; per ssh host, daemon ports and install dirs once.
void Parser::check_machines() {
    std::set<std::string> ids;
    std::set<std::pair<std::string, uint16_t>> ports;
    std::set<std::pair<std::string, std::string>> dirs;
    for (size_t i = 0; i < file_.machines.size(); ++i) {
        const auto& m = file_.machines[i];
        const auto& at = machine_nodes_[i];
        if (m.id.empty() || m.host.empty()) continue;
        if (!ids.insert(m.id).second) {
            problem(at,
                    fmt::format("machine id `{}` is used twice; give each machine its own", m.id));
        }
        const std::string host =
            m.user + "@" + m.host + ":" + std::to_string(m.ssh_port.value_or(22));
        if (!ports.insert({host, m.daemon_port}).second) {
            problem(at, fmt::format("machine `{}`: another machine on {} already uses daemon_port "
                                    "{}; give each daemon of a host its own `daemon_port:`",
                                    m.id, m.host, m.daemon_port));
        }
        if (!dirs.insert({host, file_.dir_of(m)}).second) {
            problem(at, fmt::format("machine `{}`: another machine on {} already uses dir `{}`; "
                                    "give each its own `dir:`",
                                    m.id, m.host, file_.dir_of(m)));
        }
    }
}

Result<ClusterFile> Parser::parse(std::string_view text) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return fail("{}:{}:{}: not valid YAML: {}", path_.string(), e.mark.line + 1,
                    e.mark.column + 1, e.msg);
    }
    if (!root.IsMap()) {
        return fail("{}: a cluster file is a mapping with `coordinator:` and `machines:`",
                    path_.string());
    }
    bool has_coordinator = false;
    bool has_machines = false;
    keys(root, "the cluster file", {"coordinator", "machines", "ssh", "zenoh_peer"},
         [&](const std::string& key, const YAML::Node& value) {
             if (key == "coordinator") {
                 has_coordinator = true;
                 coordinator(value);
             } else if (key == "machines") {
                 has_machines = true;
                 machines(value);
             } else if (key == "ssh") {
                 ssh(value);
             } else {
                 problem(value,
                         "`zenoh_peer` (dora 1.x) is not supported: the daemons here find "
                         "each other through the coordinator; for a Zenoh router set "
                         "ZENOH_CONFIG in the machines' `env:`");
             }
         });
    if (!has_coordinator) {
        problem(root, "no `coordinator:`; add `coordinator: {addr: <this machine's address>}`");
    }
    if (!has_machines) problem(root, "no `machines:`; add the list of machines");
    check_machines();
    if (!problems_.empty()) return fail("{}", problems_);
    return std::move(file_);
}

}  // namespace

std::string ClusterFile::dir_of(const ClusterMachine& machine) const {
    return machine.dir.empty() ? ".dora/cluster/" + machine.id : machine.dir;
}

Result<ClusterFile> parse_cluster_file(std::string_view text, const std::filesystem::path& path) {
    return Parser(path).parse(text);
}

Result<ClusterFile> load_cluster_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        return fail("cannot read the cluster file {}: {}", path.string(), std::strerror(errno));
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse_cluster_file(text.str(), path);
}

}  // namespace dora::cli
