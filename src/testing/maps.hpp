// Test support: what this process has mapped, read from /proc/self/maps (shared-memory tests
// check that a segment is mapped, unmapped, or mapped read-only).
//
// Thread safety: free functions; each call reads the file anew.
#pragma once

#include <string>

namespace dora::testing {

// The permissions ("rw-s", "r--s", ...) of the mapping that contains `address`, or "" if none.
[[nodiscard]] std::string permissions_at(const void* address);

// Whether this process maps the shared-memory object `name` (e.g. "/dora.1.x").
[[nodiscard]] bool shm_mapped(const std::string& name);

}  // namespace dora::testing
