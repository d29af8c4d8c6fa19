// Arrow data for people: a message's data region, laid out as its ArrowTypeInfo says, rendered as
// JSON values (what `dora topic echo` prints and the web view shows), and a type's name as Arrow
// writes it ("int64", "utf8", "list<float32>", "struct<x: float64, y: float64>").
//
// Rendering: null, booleans, integers of every width, floats (half, single, double) and strings
// become JSON values; binary values, and the raw bytes of fixed-width types without a JSON form
// (decimals, fixed-size binary, intervals), become "0x..." hex strings (at most max_hex_bytes
// shown, then "…"); lists and fixed-size lists become arrays; structs become objects keyed by the
// child names; dictionary-encoded arrays show their values; dates, times, timestamps and durations
// show their integer value. An array of more than max_elements elements (at any level) is cut
// there and `truncated` is set: a 40 MiB image is not turned into 40 million numbers.
//
// Safety: the data usually comes from another machine. arrow_to_json runs check_layout() and
// check_offsets() first and bound-checks every read besides, so malformed input is an error
// naming what is wrong, never a read outside `data`.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "core/error.hpp"
#include "message/metadata.hpp"

namespace dora::message {

struct ArrowJsonLimits {
    size_t max_elements = 1000;  // per array, at every level
    size_t max_hex_bytes = 64;   // per binary value
    // In all, at every level: a dictionary can repeat a large value for every index, so the cut
    // per array alone does not bound the work; past this the rendering fails.
    uint64_t max_values = 1'000'000;
};

struct ArrowJson {
    nlohmann::json value;  // an array of the elements (the top level of a dora message is one)
    bool truncated = false;
};

[[nodiscard]] Result<ArrowJson> arrow_to_json(const ArrowTypeInfo& info,
                                              std::span<const std::byte> data,
                                              const ArrowJsonLimits& limits = {});

// The Arrow name of the type `info` describes (children and dictionary included).
[[nodiscard]] std::string arrow_type_name(const ArrowTypeInfo& info);

// `raw` as UTF-8 text: well-formed sequences kept, any other byte replaced by U+FFFD.
[[nodiscard]] std::string valid_utf8(std::span<const std::byte> raw);

// The text of a message whose data is one UTF-8 string, or raw bytes (UInt8, as `send_output(id,
// b"...")` gives) that are well-formed UTF-8 with no control characters but tab and line breaks:
// what people send as text or JSON. nullopt for anything else.
[[nodiscard]] std::optional<std::string> message_text(const ArrowTypeInfo& info,
                                                      std::span<const std::byte> data);

// The parameters of a message as a JSON object (lists as arrays).
[[nodiscard]] nlohmann::json parameters_to_json(const Parameters& parameters);

}  // namespace dora::message
