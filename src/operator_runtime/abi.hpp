// The runtime's side of dora's C operator ABI (include/dora/operator_types.h): the definitions of
// the types the header leaves opaque (Input, Output) and the conversions between DoraResult_t
// errors and messages. The five dora_* functions operators call are in operator_abi.cpp, which is
// compiled into the dora-runtime executable (and exported from it) rather than into this module.
//
// Thread safety: plain data and pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dora/operator_types.h"

// An input event as an operator reads it (dora_read_input_id, dora_read_data). Lives on the
// runtime's stack for one dora_on_event call.
struct Input {
    std::string id;                   // the operator's own input id ("tick")
    std::span<const std::byte> data;  // the message's bytes (shared memory)
    bool has_data = false;            // false for timer ticks: dora_read_data gives NULL
    bool data_taken = false;          // dora_read_data gives the data once, as in dora
};

// An output on its way from dora_send_operator_output to the operator's SendOutput callback.
struct Output {
    const char* id = nullptr;
    const uint8_t* data = nullptr;
    size_t len = 0;
};

namespace dora::operator_runtime {

// An error result holding `message`, allocated as operator_types.h says (malloc()ed Vec_uint8_t
// and bytes), for the receiver to free().
[[nodiscard]] DoraResult_t error_result(std::string_view message);

// The message of `result`'s error (std::nullopt on success); frees the error as its new owner.
[[nodiscard]] std::optional<std::string> take_error(DoraResult_t result);

// A Vec_uint8_t viewing `text` (not owned: for RawEvent fields the runtime keeps alive).
[[nodiscard]] Vec_uint8_t borrowed_vec(const std::string& text);

}  // namespace dora::operator_runtime
