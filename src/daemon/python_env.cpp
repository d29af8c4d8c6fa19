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

}  // namespace

std::string dora_python_path() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return DORA_PYTHON_INSTALL_DIR;  // no /proc: the configured prefix is the best guess
    }
    if (is_inside(exe, DORA_BUILD_DIR)) {
        return DORA_PYTHON_BUILD_DIR;
    }
    // Installed: <prefix>/bin/dora finds <prefix>/<libdir>/dora/python, wherever the prefix was
    // put (`cmake --install --prefix P`, a relocated .deb).
    return (exe.parent_path() / DORA_PYTHON_INSTALL_RELATIVE).lexically_normal().string();
}

std::string prepend_python_path(const std::string& dir, const char* existing) {
    if (existing == nullptr || *existing == '\0') {
        return dir;
    }
    return dir + ":" + existing;
}

}  // namespace dora::daemon
