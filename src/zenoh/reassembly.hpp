// The buffer a transport reassembles one fragmented message in. It lives in its own anonymous
// mapping and grows with mremap, which moves page tables instead of copying: reassembling an
// N-byte message holds N bytes (rounded up to pages), not the 1.5-3 N a doubling vector peaks at
// while it copies. Memory goes back to the system when release() unmaps it (munmap), so a large
// transfer leaves nothing resident behind.
//
// Thread safety: one owner at a time (a Transport, on its loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.hpp"

namespace dora::zenoh {

class ReassemblyBuffer {
  public:
    ReassemblyBuffer() = default;
    ReassemblyBuffer(const ReassemblyBuffer&) = delete;
    ReassemblyBuffer& operator=(const ReassemblyBuffer&) = delete;
    ~ReassemblyBuffer() { release(); }

    // Appends `bytes`; fails (the buffer unchanged) when the system has no memory for them.
    [[nodiscard]] Result<> append(std::span<const uint8_t> bytes);
    // Empties the buffer; keeps the mapping while it is at most `keep` bytes, so a stream of
    // medium-sized messages does not map and fault in its buffer each time.
    void clear(size_t keep);
    // Empties the buffer and unmaps it.
    void release();

    [[nodiscard]] std::span<const uint8_t> bytes() const { return {data_, size_}; }
    [[nodiscard]] size_t size() const { return size_; }
    [[nodiscard]] size_t capacity() const { return capacity_; }

  private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

}  // namespace dora::zenoh
