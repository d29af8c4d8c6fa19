#include "operator_runtime/abi.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace dora::operator_runtime {

// The layouts dora 0.3.12's operator_types.h gives on 64-bit Linux: an operator built against
// either header passes and returns the same bytes.
static_assert(sizeof(Vec_uint8_t) == 24 && offsetof(Vec_uint8_t, cap) == 16);
static_assert(sizeof(DoraResult_t) == 8);
static_assert(sizeof(DoraInitResult_t) == 16 && offsetof(DoraInitResult_t, operator_context) == 8);
static_assert(sizeof(OnEventResult_t) == 16 && offsetof(OnEventResult_t, status) == 8);
static_assert(sizeof(DoraStatus_t) == 1);
static_assert(offsetof(RawEvent_t, input_closed) == 8 && offsetof(RawEvent_t, stop) == 32 &&
              offsetof(RawEvent_t, error) == 40 && sizeof(RawEvent_t) == 64);
static_assert(sizeof(SendOutput_t) == 32 &&
              offsetof(ArcDynFn1_DoraResult_Output_t, release) == 16 &&
              offsetof(ArcDynFn1_DoraResult_Output_t, retain) == 24);

DoraResult_t error_result(std::string_view message) {
    auto* vec = static_cast<Vec_uint8_t*>(std::malloc(sizeof(Vec_uint8_t)));
    auto* bytes = static_cast<uint8_t*>(std::malloc(message.empty() ? 1 : message.size()));
    if (vec == nullptr || bytes == nullptr) {
        throw std::bad_alloc();  // as any allocation in the runtime: the process cannot go on
    }
    std::memcpy(bytes, message.data(), message.size());
    *vec = Vec_uint8_t{bytes, message.size(), message.empty() ? 1 : message.size()};
    return DoraResult_t{vec};
}

std::optional<std::string> take_error(DoraResult_t result) {
    if (result.error == nullptr) {
        return std::nullopt;
    }
    Vec_uint8_t* vec = result.error;
    std::string message = vec->ptr == nullptr
                              ? std::string()
                              : std::string(reinterpret_cast<const char*>(vec->ptr), vec->len);
    if (vec->cap != 0) {
        std::free(vec->ptr);  // cap 0: nothing was allocated (Rust's empty Vec)
    }
    std::free(vec);
    if (message.empty()) {
        message = "(an error without a message)";
    }
    return message;
}

Vec_uint8_t borrowed_vec(const std::string& text) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): dora's field is not const
    auto* ptr = reinterpret_cast<uint8_t*>(const_cast<char*>(text.data()));
    return Vec_uint8_t{ptr, text.size(), text.size()};
}

}  // namespace dora::operator_runtime
