// A small JSON5 reader for ZENOH_CONFIG files: comments, unquoted keys, trailing commas,
// single-quoted strings, hex numbers, leading/trailing decimal points, +/-Infinity and NaN.
// Parses into a tree of Json5Value; errors give line and column (1-based).
//
// Nesting is limited (kMaxDepth) so hostile input cannot exhaust the stack.
//
// Thread safety: values and a pure function.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace dora::zenoh {

struct Json5Value;
struct Json5Member;
using Json5Array = std::vector<Json5Value>;
// Object members in file order (duplicate keys: the last one wins in find()).
using Json5Object = std::vector<Json5Member>;

struct Json5Value {
    struct Null {};
    // Numbers keep the integer form when the text was an integer that fits.
    struct Number {
        double value = 0;
        bool is_integer = false;
        int64_t integer = 0;
    };
    std::variant<Null, bool, Number, std::string, Json5Array, Json5Object> data;
    int line = 0;
    int column = 0;

    [[nodiscard]] bool is_null() const { return std::holds_alternative<Null>(data); }
    [[nodiscard]] const bool* as_bool() const { return std::get_if<bool>(&data); }
    [[nodiscard]] const Number* as_number() const { return std::get_if<Number>(&data); }
    [[nodiscard]] const std::string* as_string() const { return std::get_if<std::string>(&data); }
    [[nodiscard]] const Json5Array* as_array() const { return std::get_if<Json5Array>(&data); }
    [[nodiscard]] const Json5Object* as_object() const { return std::get_if<Json5Object>(&data); }
    // Member of an object by key; nullptr if absent or not an object.
    [[nodiscard]] const Json5Value* find(std::string_view key) const;
    [[nodiscard]] std::string_view type_name() const;
};

struct Json5Member {
    std::string key;
    Json5Value value;
};

inline constexpr int kJson5MaxDepth = 64;

// `origin` (a file name) prefixes error messages: "<origin>:<line>:<column>: <what>".
[[nodiscard]] Result<Json5Value> parse_json5(std::string_view text, std::string_view origin);

}  // namespace dora::zenoh
