// Message metadata: what a receiver needs to read the data of one dataflow message.
//
// A message is metadata + data. The data is an Arrow-layout array whose buffers are packed into
// one region, each buffer 64-byte aligned; `ArrowTypeInfo` says where each buffer lies in that
// region (offsets relative to its start) and how to read it (Arrow format string, length, null
// count, children, dictionary). `Metadata` adds the HLC timestamp and user parameters.
//
// The binary codec is what travels in every shared-memory slot and Zenoh sample, so it is built
// for the hot path: encode() writes into a caller-given span without allocating, decode() checks
// every length against the bytes left before it allocates, limits nesting to kMaxDepth, rejects
// trailing bytes, and reports what is wrong at which byte offset. decode() is a faithful codec:
// it does not judge whether the type info makes sense; check_layout() does, and a receiver must
// run it (export_array() does) before it touches the data.
//
// Encoding, version 1 (integers are LEB128 varints, signed ones zigzag-encoded first; strings are
// a varint length then the bytes):
//   u8 version | varint time_ns | 16 bytes clock id | type_info | varint n | n * parameter
//   type_info: format | name | flags | length | null_count | offset
//              | varint n | n * (varint offset+1 (0: null buffer), varint length)
//              | varint n | n * type_info (children) | u8 0/1 | [type_info (dictionary)]
//   parameter: key | u8 kind (the Parameter variant index) | value (bool: u8 0/1, int: zigzag,
//              float: 8 bytes little-endian IEEE 754, list: varint count then the elements)
//
// Thread safety: values and free functions; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/hlc.hpp"

namespace dora::message {

using Parameter = std::variant<bool, int64_t, double, std::string, std::vector<bool>,
                               std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;
using Parameters = std::map<std::string, Parameter, std::less<>>;

// Offset of a buffer that is absent (e.g. a validity bitmap of an array without nulls).
inline constexpr uint64_t kNullBuffer = std::numeric_limits<uint64_t>::max();

// Buffers in the data region start at multiples of this.
inline constexpr uint64_t kBufferAlignment = 64;

// Deepest nesting of children/dictionaries decode() and check_layout() accept.
inline constexpr int kMaxDepth = 64;

inline constexpr uint8_t kMetadataVersion = 1;

// One buffer in the data region: bytes [offset, offset + length).
struct BufferRef {
    uint64_t offset = kNullBuffer;
    uint64_t length = 0;

    [[nodiscard]] bool is_null() const { return offset == kNullBuffer; }
    [[nodiscard]] static BufferRef null() { return BufferRef{}; }

    friend bool operator==(const BufferRef&, const BufferRef&) = default;
};

// The layout of one Arrow array (and, recursively, of its children and dictionary), with buffer
// positions relative to the data region. Fields mean what they mean in ArrowArray/ArrowSchema.
struct ArrowTypeInfo {
    std::string format;
    std::string name;
    int64_t flags = 0;
    int64_t length = 0;
    int64_t null_count = 0;
    int64_t offset = 0;
    std::vector<BufferRef> buffers;
    std::vector<ArrowTypeInfo> children;
    std::unique_ptr<ArrowTypeInfo> dictionary;  // null: not dictionary-encoded; deep-copied

    ArrowTypeInfo() = default;
    ArrowTypeInfo(const ArrowTypeInfo& other);
    ArrowTypeInfo& operator=(const ArrowTypeInfo& other);
    ArrowTypeInfo(ArrowTypeInfo&&) noexcept = default;
    ArrowTypeInfo& operator=(ArrowTypeInfo&&) noexcept = default;
    ~ArrowTypeInfo() = default;

    friend bool operator==(const ArrowTypeInfo& a, const ArrowTypeInfo& b);
};

struct Metadata {
    Timestamp timestamp;
    ArrowTypeInfo type_info;
    Parameters parameters;

    friend bool operator==(const Metadata&, const Metadata&) = default;
};

// Number of bytes encode() writes for `metadata`.
[[nodiscard]] size_t encoded_size(const Metadata& metadata);

// Writes `metadata` into `out`, which must be exactly encoded_size(metadata) bytes long.
void encode(const Metadata& metadata, std::span<std::byte> out);

// The encoding as a string of bytes (allocates; for tests and cold paths).
[[nodiscard]] std::string encode(const Metadata& metadata);

// Decodes exactly the bytes of `in`; fails on anything malformed, naming the byte offset.
[[nodiscard]] Result<Metadata> decode(std::span<const std::byte> in);

// Checks that `info` describes a readable Arrow array in a data region of `data_size` bytes:
// a supported format, the right number of buffers and children for it, every buffer inside the
// region and 64-byte aligned, buffers long enough for offset + length elements where the format
// fixes the size, sane length/offset/null_count, children long enough for their parent.
// It cannot check the contents of offsets buffers (that would mean reading data the sender may
// still change); readers of variable-size arrays must bound-check offsets they follow.
[[nodiscard]] Result<> check_layout(const ArrowTypeInfo& info, uint64_t data_size);

}  // namespace dora::message
