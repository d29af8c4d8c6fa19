// Test support: what this process has mapped, read from /proc/self/maps (shared-memory tests
// check that a segment is mapped, unmapped, or mapped read-only), and the memory of a process
// from /proc/<pid>/status (tests check that memory is given back after a large transfer).
//
// Thread safety: free functions; each call reads the file anew.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace dora::testing {

// The permissions ("rw-s", "r--s", ...) of the mapping that contains `address`, or "" if none.
[[nodiscard]] std::string permissions_at(const void* address);

// Whether this process maps the shared-memory object `name` (e.g. "/dora.1.x").
[[nodiscard]] bool shm_mapped(const std::string& name);

// A "<field>: N kB" line of /proc/<pid>/status (VmRSS, VmHWM, RssShmem ...) in KiB, or
// std::nullopt when the process or the field is gone.
[[nodiscard]] std::optional<uint64_t> status_kib(pid_t pid, const std::string& field);

}  // namespace dora::testing
