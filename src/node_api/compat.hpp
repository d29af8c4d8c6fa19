// dora's C and C++ node APIs (include/dora/node_api.h, include/dora-node-api.h) over dora::Node:
// what they share, and the entry points the tests use to build them around a Node made in the
// test instead of from the environment. Not installed.
//
// Thread safety: as the APIs' headers say.
#pragma once

#include <cstdint>
#include <span>

#include "dora/node.hpp"

struct DoraNode;  // dora-node-api.h (which a C API file cannot include: both name DoraEventType)

namespace dora::compat {

// dora's timestamps in their NTP64 form: seconds since the UNIX epoch in the upper 32 bits, the
// fraction of a second in the lower 32 (what dora's C API returns), from ns since the epoch.
[[nodiscard]] uint64_t ntp64_from_ns(uint64_t ns);

// The bytes read_dora_input_data and event_as_input hand out: the message's bytes for byte
// arrays and text, the values' bytes for other primitive arrays, empty for timer ticks.
[[nodiscard]] std::span<const std::byte> input_bytes(const Event& event);

// A C API context around `node` (give it back with free_dora_context).
[[nodiscard]] void* make_c_context(Node node);

// A C++ API node around `node`.
[[nodiscard]] DoraNode make_cxx_node(Node node);

}  // namespace dora::compat
