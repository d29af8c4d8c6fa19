// Arrow format strings (the `format` of ArrowSchema) reduced to what decides a physical layout:
// how many buffers, how wide the elements, how many children. Shared by check_layout() (which
// judges a received layout) and plan_packing() (which computes one from an ArrowArray).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace dora::message {

enum class LayoutKind {
    kNull,            // "n": no buffers
    kBoolean,         // "b": validity, bit-packed values
    kFixedWidth,      // ints, floats, decimals, temporal, "w:N": validity, values
    kVariableBinary,  // "z" "Z" "u" "U": validity, offsets, bytes
    kList,            // "+l" "+L" "+m": validity, offsets; one child
    kFixedSizeList,   // "+w:N": validity; one child
    kStruct,          // "+s": validity; any number of children
};

struct FormatInfo {
    LayoutKind kind = LayoutKind::kNull;
    int n_buffers = 0;  // including the validity bitmap
    // kFixedWidth: bytes per element; kVariableBinary/kList: bytes per offset (4 or 8);
    // kFixedSizeList: elements per list.
    uint64_t width = 0;
};

// The layout of `format`, or an error naming the format and what is supported.
[[nodiscard]] Result<FormatInfo> parse_format(std::string_view format);

// Whether `format` is an integer type, as dictionary indices must be.
[[nodiscard]] bool is_integer_format(std::string_view format);

// Checked arithmetic for sizes computed from untrusted numbers: false on overflow.
[[nodiscard]] inline bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}
[[nodiscard]] inline bool checked_add(uint64_t a, uint64_t b, uint64_t& out) {
    return !__builtin_add_overflow(a, b, &out);
}

// Bytes of a bitmap holding `bits` bits.
[[nodiscard]] inline uint64_t bitmap_bytes(uint64_t bits) { return bits / 8 + (bits % 8 != 0); }

[[nodiscard]] inline uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

}  // namespace dora::message
