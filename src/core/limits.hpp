// Limits every layer agrees on: the descriptor check refuses a dataflow over them (dora check,
// before anything starts), and the shared-memory regions enforce them again when they are made.
//
// Thread safety: constants.
#pragma once

#include <cstdint>

namespace dora {

// The most messages one input's queue (`queue_size`) may hold.
inline constexpr uint32_t kMaxQueueSize = 1'000'000;
// The most inputs one node may have (a runtime node's operators' inputs count as its own).
inline constexpr uint32_t kMaxNodeInputs = 4096;

}  // namespace dora
