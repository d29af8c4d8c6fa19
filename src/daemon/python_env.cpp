#include "daemon/python_env.hpp"

#include <filesystem>
#include <system_error>

namespace dora::daemon {

namespace {

// True when `path` lies inside `dir` (both absolute).
bool is_inside(const std::filesystem::path& path, const std::filesystem::path& dir) {
    const auto relative = path.lexically_normal().lexically_relative(dir.lexically_normal());
    return !relative.empty() && *relative.begin() != "..";
}

// `built` when this process runs from the build tree, else `installed` (relative to the
// directory of this executable, wherever the prefix was put: `cmake --install --prefix P`, a
// relocated .deb); `configured` (the install prefix given at build time) without /proc.
std::string matching_path(const char* built, const char* installed, const char* configured) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return configured;
    }
    if (is_inside(exe, DORA_BUILD_DIR)) {
        return built;
    }
    return (exe.parent_path() / installed).lexically_normal().string();
}

}  // namespace

std::string dora_python_path() {
    // Installed: <prefix>/bin/dora finds <prefix>/<libdir>/dora/python.
    return matching_path(DORA_PYTHON_BUILD_DIR, DORA_PYTHON_INSTALL_RELATIVE,
                         DORA_PYTHON_INSTALL_DIR);
}

std::string dora_runtime_path() {
    return matching_path(DORA_RUNTIME_BUILD_PATH, "dora-runtime", DORA_RUNTIME_INSTALL_PATH);
}

std::string prepend_python_path(const std::string& dir, const char* existing) {
    if (existing == nullptr || *existing == '\0') {
        return dir;
    }
    return dir + ":" + existing;
}

}  // namespace dora::daemon
