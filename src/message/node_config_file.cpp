#include "message/node_config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/sys.hpp"

namespace dora::message {

namespace fs = std::filesystem;

namespace {

// `base` must be ours and closed to others: whoever may write to it could swap our directory.
Result<> check_base(const fs::path& base) {
    std::error_code ec;
    if (!fs::exists(base, ec)) {
        // Made closed to others whatever the umask; a failure shows in the checks below.
        fs::create_directories(base.parent_path(), ec);
        ::mkdir(base.c_str(), 0700);
    }
    struct stat st {};
    if (::lstat(base.c_str(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("the runtime directory {}", base.string())));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail("the runtime directory {} is not a directory; remove it or set XDG_RUNTIME_DIR",
                    base.string());
    }
    if (st.st_uid != ::getuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        return fail(
            "the runtime directory {} belongs to another user or others may write to it; node "
            "configurations are not written there (set XDG_RUNTIME_DIR to a directory of yours)",
            base.string());
    }
    return {};
}

Result<> write_private_file(const fs::path& path, std::string_view text) {
    sys::UniqueFd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("creating {}", path.string())));
    }
    if (auto ok = sys::write_all(fd.get(), text); !ok) {
        return fail(ok.error().context(fmt::format("writing {}", path.string())));
    }
    return {};
}

Result<std::string> read_config_file(const std::string& path) {
    sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return fail(
            "{}: cannot open the node configuration file {} ({}); the dataflow has ended, or "
            "the node was started by hand with a copied environment",
            kNodeConfigEnv, path, std::strerror(errno));
    }
    std::string text;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(sys::errno_error(fmt::format("reading {}", path)));
        }
        if (n == 0) {
            return text;
        }
        text.append(buffer, static_cast<size_t>(n));
        if (text.size() > kMaxNodeConfigFileSize) {
            return fail(
                "the node configuration file {} is larger than {} bytes: not one "
                "written by a dora daemon",
                path, kMaxNodeConfigFileSize);
        }
    }
}

}  // namespace

Result<NodeConfigDir> NodeConfigDir::create(const fs::path& base, const std::string& dir) {
    if (auto ok = check_base(base); !ok) {
        return fail(ok.error());
    }
    fs::path path = base / dir;
    std::error_code ec;
    fs::remove_all(path, ec);  // a stale directory of a dead daemon whose pid came back
    if (::mkdir(path.c_str(), 0700) != 0) {
        return fail(sys::errno_error(
            fmt::format("creating the node configuration directory {}", path.string())));
    }
    return NodeConfigDir(std::move(path));
}

NodeConfigDir::NodeConfigDir(NodeConfigDir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

NodeConfigDir& NodeConfigDir::operator=(NodeConfigDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

NodeConfigDir::~NodeConfigDir() { remove(); }

void NodeConfigDir::remove() {
    if (!path_.empty()) {
        std::error_code ec;
        fs::remove_all(path_, ec);  // best effort: nothing more to do if it fails at the end
        path_.clear();
    }
}

Result<std::string> NodeConfigDir::write(const std::string& name, const NodeConfig& config) {
    if (path_.empty()) {
        return fail("internal error: writing a node configuration into no directory");
    }
    const fs::path file = path_ / (name + ".json");
    const fs::path tmp = path_ / (name + ".json.tmp");
    std::error_code ec;
    fs::remove(tmp, ec);
    if (auto ok = write_private_file(tmp, to_json(config)); !ok) {
        return fail(ok.error());
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        return fail(sys::errno_error(fmt::format("renaming {}", tmp.string())));
    }
    return node_config_handle(config, file);
}

std::string node_config_handle(const NodeConfig& config, const fs::path& file) {
    nlohmann::json j;
    j["dataflow_id"] = config.dataflow_id;
    j["node_id"] = config.node_id;
    j["machine_id"] = config.machine_id;
    j["config_file"] = file.string();
    return j.dump();
}

Result<NodeConfig> load_node_config(std::string_view env_value) {
    auto j = nlohmann::json::parse(env_value, nullptr, false);
    if (j.is_object() && j.contains("config_file") && !j.contains("version")) {
        if (!j["config_file"].is_string() || j["config_file"].get<std::string>().empty()) {
            return fail("{}: \"config_file\" is not a file name", kNodeConfigEnv);
        }
        const std::string path = j["config_file"].get<std::string>();
        auto text = read_config_file(path);
        if (!text) {
            return fail(text.error());
        }
        auto config = parse_node_config(*text);
        if (!config) {
            return fail(config.error().context(fmt::format("node configuration file {}", path)));
        }
        if (config->node_id != j.value("node_id", config->node_id)) {
            return fail("{} names node `{}` but its file {} is the configuration of node `{}`",
                        kNodeConfigEnv, j.value("node_id", ""), path, config->node_id);
        }
        return config;
    }
    return parse_node_config(env_value);
}

}  // namespace dora::message
