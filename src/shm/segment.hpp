// Named POSIX shared-memory segments: create, open and map them, unlink them.
//
// A Segment owns one mapping of a `/dev/shm` object. Segments are created once and reused
// (a fresh mapping costs page faults on first touch; a reused one does not), so callers keep them
// for the lifetime of a dataflow. Names start with "/dora." so stale ones can be found and removed
// (see remove_stale_segments).
//
// Read-only parts of a mapping guard against mistakes (a receiver writing into data other
// processes read faults at once); they are no security boundary: every process of a dataflow runs
// as the same user and could map the object read-write itself.
//
// Thread safety: a Segment is a move-only owner; its memory is shared by design and is
// synchronised by the structures placed in it (atomics), not by this class.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace dora::shm {

class Segment {
  public:
    Segment() = default;
    Segment(Segment&& other) noexcept { *this = std::move(other); }
    Segment& operator=(Segment&& other) noexcept;
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;
    ~Segment();

    // Creates a new zero-filled segment of `size` bytes; fails if the name exists.
    [[nodiscard]] static Result<Segment> create(std::string_view name, size_t size);
    // Maps an existing segment, read-write or read-only, with its current size.
    [[nodiscard]] static Result<Segment> open(std::string_view name, bool writable);
    // Maps an existing segment with its first `writable_head` bytes read-write and the rest
    // read-only, as one contiguous range: a sample receiver updates the header (the reference
    // count) but must never change the payload other receivers read. `writable_head` must be a
    // multiple of the page size and smaller than the segment.
    [[nodiscard]] static Result<Segment> open_with_writable_head(std::string_view name,
                                                                 size_t writable_head);

    // Frees the memory of bytes [offset, size()) in every process that maps this segment (the
    // object keeps its size; those bytes read as zero until written again). Needs a writable
    // mapping of the range; `offset` page-aligned.
    [[nodiscard]] Result<> free_pages_from(size_t offset) const;
    // Drops this process's mapping of bytes [offset, size()) from its page tables (RSS), leaving
    // the memory and its contents to the other processes; the next read maps them in again.
    // `offset` page-aligned.
    void unmap_pages_from(size_t offset) const;

    [[nodiscard]] std::byte* data() const { return data_; }
    [[nodiscard]] size_t size() const { return size_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] bool valid() const { return data_ != nullptr; }

    template <typename T>
    [[nodiscard]] T* as(size_t offset = 0) const {
        return reinterpret_cast<T*>(data_ + offset);
    }

  private:
    std::string name_;
    std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Removes the named segment from /dev/shm; existing mappings stay valid. Missing is not an error.
[[nodiscard]] Result<> unlink_segment(std::string_view name);

// Removes every /dev/shm/dora.<pid>.* object whose <pid> is no longer a running process (left
// behind by a runtime that was killed with SIGKILL). Returns how many were removed.
size_t remove_stale_segments();

// Removes every /dev/shm object whose name starts with `prefix` (without the leading '/').
size_t remove_segments_with_prefix(std::string_view prefix);

}  // namespace dora::shm
