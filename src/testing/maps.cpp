#include "testing/maps.hpp"

#include <cstdint>
#include <fstream>

namespace dora::testing {

std::string permissions_at(const void* address) {
    const auto at = reinterpret_cast<uintptr_t>(address);
    std::ifstream maps("/proc/self/maps");
    std::string range;
    std::string perms;
    std::string rest;
    while (maps >> range >> perms && std::getline(maps, rest)) {
        const size_t dash = range.find('-');
        const uintptr_t start = std::stoull(range.substr(0, dash), nullptr, 16);
        const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (at >= start && at < end) {
            return perms;
        }
    }
    return "";
}

bool shm_mapped(const std::string& name) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("/dev/shm" + name) != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::optional<uint64_t> status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    const std::string prefix = field + ":";
    while (std::getline(status, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return std::stoull(line.substr(prefix.size()));
        }
    }
    return std::nullopt;
}

}  // namespace dora::testing
