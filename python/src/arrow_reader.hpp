// Reading Arrow arrays (exported ArrowArray/ArrowSchema) into Python objects, for dora.Array.
//
// A Reader is built once per array from its schema (formats are parsed once, not per element)
// and reads one element at a time: nulls as None, integers as int, floats as float, binary as
// bytes, strings as str, lists as list, structs as dict, maps as lists of (key, value) tuples,
// dictionary-encoded arrays as their values, decimals as decimal.Decimal, dates/times/timestamps
// and durations as the stored integer, intervals as tuples (Reader::temporal marks such types:
// dora.Array asks pyarrow for their values where it is installed). Reads trust the layout: callers
// pass arrays that message::export_array checked.
//
// Thread safety: pure functions; call with the GIL held (they create Python objects).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dora/arrow.hpp"

namespace dora::python {

namespace py = pybind11;

// How to read one column; built once per array from its schema (formats are parsed once, not
// per element).
enum class Kind {
    kNull,
    kBool,
    kInt8,
    kUInt8,
    kInt16,
    kUInt16,
    kInt32,
    kUInt32,
    kInt64,
    kUInt64,
    kHalf,
    kFloat,
    kDouble,
    kBinary,  // z Z: bytes
    kUtf8,    // u U: str
    kFixedBinary,
    kDecimal,
    kRaw32,    // dates, times, month intervals: the stored integer
    kRaw64,    // timestamps, durations, date64, time64: the stored integer
    kDayTime,  // (days, milliseconds)
    kMonthDayNano,
    kList,
    kMap,
    kFixedList,
    kStruct,
};

struct Reader {
    Kind kind = Kind::kNull;
    int64_t width = 0;   // fixed-width bytes; offsets bytes (4/8); fixed list size
    int32_t scale = 0;   // decimals
    std::string name;    // pyarrow-style type name
    std::string format;  // Arrow C format string
    std::vector<std::string> field_names;  // structs
    std::vector<std::unique_ptr<Reader>> children;
    std::unique_ptr<Reader> dictionary;
    int64_t dict_index_width = 0;
    bool dict_index_signed = true;
    // The type holds dates, times, timestamps, durations or intervals (here or in a child), whose
    // Python values read_value gives as the stored integers where pyarrow gives datetime objects.
    bool temporal = false;
};

// The reader of arrays of type `schema` (recursively for children and dictionary).
[[nodiscard]] std::unique_ptr<Reader> make_reader(const ArrowSchema& schema);

// Whether element `physical` (offset included) of `a` is not null.
[[nodiscard]] bool is_valid(const ArrowArray& a, int64_t physical);

// Entry `index` of a 4- or 8-byte offsets buffer.
[[nodiscard]] int64_t load_offset(const void* offsets, int64_t width, int64_t index);

// The Python value of logical element `i` of `a` (its offset applied here).
[[nodiscard]] py::object read_value(const Reader& r, const ArrowArray& a, int64_t i);

// The PEP 3118 format char / numpy dtype name of a fixed-width primitive kind, or nullptr.
[[nodiscard]] const char* buffer_format(Kind kind);
[[nodiscard]] const char* numpy_dtype(Kind kind);

}  // namespace dora::python
