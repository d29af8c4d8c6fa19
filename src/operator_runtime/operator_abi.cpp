// The five functions of dora's C operator ABI that operators call (include/dora/operator_types.h).
// This file is compiled into the dora-runtime executable, which exports exactly these symbols
// (exports.map), so an operator library built without any dora library binds to them when the
// runtime dlopen()s it.
//
// Thread safety: each call touches only its arguments; dora_send_operator_output's callback
// checks its own thread rules (shared_library.cpp).
#include <cstdlib>
#include <cstring>

#include "operator_runtime/abi.hpp"

extern "C" {

void dora_free_data(Vec_uint8_t data) { std::free(data.ptr); }

void dora_free_input_id(char* input_id) { std::free(input_id); }

Vec_uint8_t dora_read_data(Input_t* input) {
    if (input == nullptr || !input->has_data || input->data_taken) {
        return Vec_uint8_t{nullptr, 0, 0};
    }
    input->data_taken = true;
    const size_t len = input->data.size();
    auto* copy = static_cast<uint8_t*>(std::malloc(len == 0 ? 1 : len));
    if (copy == nullptr) {
        return Vec_uint8_t{nullptr, 0, 0};
    }
    if (len != 0) {
        std::memcpy(copy, input->data.data(), len);
    }
    return Vec_uint8_t{copy, len, len};
}

char* dora_read_input_id(const Input_t* input) {
    return input == nullptr ? nullptr : strdup(input->id.c_str());
}

DoraResult_t dora_send_operator_output(const SendOutput_t* send_output, const char* id,
                                       const uint8_t* data_ptr, size_t data_len) {
    if (send_output == nullptr || send_output->send_output.call == nullptr || id == nullptr) {
        return dora::operator_runtime::error_result(
            "dora_send_operator_output: pass the SendOutput_t your dora_on_event received and a "
            "NUL-terminated output id");
    }
    if (data_ptr == nullptr && data_len != 0) {
        return dora::operator_runtime::error_result(
            "dora_send_operator_output: data is NULL but data_len is not 0");
    }
    return send_output->send_output.call(send_output->send_output.env_ptr,
                                         Output{id, data_ptr, data_len});
}

}  // extern "C"
