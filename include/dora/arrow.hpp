// The Arrow C Data Interface (https://arrow.apache.org/docs/format/CDataInterface.html).
//
// The two structs below are copied verbatim from the Arrow specification, inside the standard
// `ARROW_C_DATA_INTERFACE` guard, so this header coexists with arrow/c/abi.h, nanoarrow.h and
// any other header that defines them: whichever comes first wins and the definitions are
// identical. dora's node API hands data out and takes it in as these structs, so C++ users,
// pyarrow (`__arrow_c_array__`), polars and nanoarrow can read messages without copying.
//
// Ownership follows the spec: whoever holds a struct with a non-null `release` must call it
// exactly once (or move the struct and null the source's `release`); releasing a parent also
// releases its children and dictionary.
//
// Thread safety: plain data. A released struct may be released from any thread, but one struct
// must not be used from two threads at once without synchronisation.
#pragma once

#include <stdint.h>  // NOLINT(modernize-deprecated-headers): the spec's C header uses it.

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    // Array type description
    const char* format;
    const char* name;
    const char* metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema** children;
    struct ArrowSchema* dictionary;

    // Release callback
    void (*release)(struct ArrowSchema*);
    // Opaque producer-specific data
    void* private_data;
};

struct ArrowArray {
    // Array data description
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void** buffers;
    struct ArrowArray** children;
    struct ArrowArray* dictionary;

    // Release callback
    void (*release)(struct ArrowArray*);
    // Opaque producer-specific data
    void* private_data;
};

#endif  // ARROW_C_DATA_INTERFACE

#ifdef __cplusplus
}  // extern "C"

namespace dora::arrow {

// The schema flags as typed constants, for C++ code that prefers them to the macros.
inline constexpr int64_t kFlagDictionaryOrdered = ARROW_FLAG_DICTIONARY_ORDERED;
inline constexpr int64_t kFlagNullable = ARROW_FLAG_NULLABLE;
inline constexpr int64_t kFlagMapKeysSorted = ARROW_FLAG_MAP_KEYS_SORTED;

}  // namespace dora::arrow
#endif
