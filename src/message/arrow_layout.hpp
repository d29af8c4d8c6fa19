// Packing Arrow arrays into one data region, and exporting a packed region back as Arrow.
//
// Sending: plan_packing() walks an Arrow array (ArrowArray + ArrowSchema from any producer:
// pyarrow, nanoarrow, our own builders) and computes where each of its buffers goes in a region,
// each 64-byte aligned, deriving buffer sizes from format, length, offset and, for variable-size
// types, the last offset, as the Arrow columnar spec defines them; pack() then copies the buffers
// there (typically straight into a shared-memory slot). Array offsets are kept, not rebased, so
// sliced arrays are packed with the bytes before their offset.
//
// Receiving: export_array() runs check_layout() and check_offsets() and then hands out an
// ArrowArray/ArrowSchema whose buffers point into the region without copying. Their release
// callbacks free what export_array() allocated and drop `keep_alive`, the owner of the region (e.g.
// a reference to the shared-memory slot), so the region lives as long as any exported piece of the
// array does. The checks make a buggy sender's data safe to read; they cannot stop a hostile sender
// that rewrites offsets after they were checked, as the sender's mapping stays writable. Release
// semantics are the spec's: releasing a parent releases its children and dictionary; a child moved
// out (copied, then the original's `release` set to null) stays valid on its own.
//
// Small helpers build the type info of the common cases without an ArrowArray: raw bytes,
// primitive arrays and UTF-8 strings.
//
// Thread safety: free functions over caller-owned data. An exported array may be released from
// any thread; the `keep_alive` control block is shared atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "dora/arrow.hpp"
#include "message/metadata.hpp"

namespace dora::message {

struct PackedLayout {
    ArrowTypeInfo type_info;  // buffer offsets relative to the start of the region
    uint64_t total_size = 0;  // bytes of the region
};

// Where each buffer of `array` (of type `schema`) goes in a packed region. Fails on a released
// array, an unsupported format, or buffers/children that do not match the format.
[[nodiscard]] Result<PackedLayout> plan_packing(const ArrowArray& array, const ArrowSchema& schema);

// Copies the buffers of `array` into `dest` (plan.total_size bytes) at the places `plan` gives;
// the padding between buffers is zeroed. `plan` must come from plan_packing(array, ...).
void pack(const ArrowArray& array, const PackedLayout& plan, std::byte* dest);

// Checks the contents of every offsets buffer in `info` (which check_layout() accepted for the
// region at `data`): offsets never decrease, the first is not negative and the last stays inside
// the character data (strings, binary) or the child (lists). Reads every offset: O(length).
[[nodiscard]] Result<> check_offsets(const ArrowTypeInfo& info, const std::byte* data);

// Exposes the `data_size` bytes at `data`, laid out as `info` says, as an Arrow array without
// copying, after check_layout() and check_offsets(). On success the caller owns *out_array and
// *out_schema and must release them; on failure (check_layout() rejects `info`) neither is touched.
[[nodiscard]] Result<> export_array(const ArrowTypeInfo& info, const std::byte* data,
                                    uint64_t data_size, std::shared_ptr<const void> keep_alive,
                                    ArrowArray* out_array, ArrowSchema* out_schema);

// A UInt8 ("C") array of `n` bytes: no validity bitmap, the data buffer at offset 0.
[[nodiscard]] ArrowTypeInfo bytes_type_info(uint64_t n);

// A fixed-width array of `length` elements of `element_size` bytes in format `format` ("i",
// "g", ...): no validity bitmap, the data buffer at offset 0.
[[nodiscard]] ArrowTypeInfo primitive_type_info(std::string format, uint64_t length,
                                                uint64_t element_size);

// The layout of a UTF-8 array holding `strings`: no validity bitmap, the offsets buffer at 0 and
// the character data after it. The format is "u" (int32 offsets), or "U" (int64 offsets) when the
// characters do not fit int32 offsets.
[[nodiscard]] PackedLayout utf8_layout(std::span<const std::string_view> strings);

// Writes `strings` into `dest` (layout.total_size bytes) as `layout` (from utf8_layout(strings))
// says.
void pack_utf8(std::span<const std::string_view> strings, const PackedLayout& layout,
               std::byte* dest);

}  // namespace dora::message
