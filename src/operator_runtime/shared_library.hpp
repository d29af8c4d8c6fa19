// One shared-library operator inside dora-runtime: its library (dlopen()ed RTLD_NOW|RTLD_LOCAL),
// its three entry points (dora_init_operator, dora_on_event, dora_drop_operator), its context,
// and the SendOutput_t callback through which it sends on its declared outputs.
//
// Errors name the operator and say what to do; an error an operator returns is read and freed
// here (take_error).
//
// Thread safety: one thread uses an operator (the runtime's); the SendOutput_t callback refuses
// calls from other threads and calls outside dora_on_event.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "core/error.hpp"
#include "operator_runtime/abi.hpp"
#include "operator_runtime/spec.hpp"

namespace dora::operator_runtime {

// Sends bytes on the node's output `output_id` ("<operator>/<output>"); returns an error message
// or an empty string.
using OutputSink =
    std::function<std::string(std::string_view output_id, std::span<const std::byte> data)>;

class SharedLibraryOperator {
  public:
    // Loads spec.library, finds the entry points and calls dora_init_operator.
    [[nodiscard]] static Result<std::unique_ptr<SharedLibraryOperator>> load(OperatorSpec spec,
                                                                             OutputSink sink);
    SharedLibraryOperator(const SharedLibraryOperator&) = delete;
    SharedLibraryOperator& operator=(const SharedLibraryOperator&) = delete;
    // Calls dora_drop_operator if drop() was not called (its error, if any, is lost then).
    ~SharedLibraryOperator();

    // Hands `event` to dora_on_event; the status it returns, or its error.
    [[nodiscard]] Result<DoraStatus_t> on_event(RawEvent_t& event, std::string_view what);
    // Calls dora_drop_operator (once).
    [[nodiscard]] Result<> drop();

    [[nodiscard]] const OperatorSpec& spec() const { return spec_; }

  private:
    using InitFn = DoraInitResult_t (*)();
    using OnEventFn = OnEventResult_t (*)(RawEvent_t*, const SendOutput_t*, void*);
    using DropFn = DoraResult_t (*)(void*);

    SharedLibraryOperator(OperatorSpec spec, OutputSink sink, void* library);
    [[nodiscard]] Result<> bind();
    [[nodiscard]] Result<> init();
    // The SendOutput_t callback: `env` is the operator.
    static DoraResult_t call_send(void* env, Output output);
    [[nodiscard]] DoraResult_t send(const Output& output);

    OperatorSpec spec_;
    OutputSink sink_;
    void* library_;  // never dlclose()d: code of the library may still run in atexit handlers
    InitFn init_ = nullptr;
    OnEventFn on_event_ = nullptr;
    DropFn drop_ = nullptr;
    void* context_ = nullptr;
    bool initialized_ = false;
    bool dropped_ = false;
    bool in_event_ = false;
    std::thread::id thread_;
    SendOutput_t send_output_{};
};

}  // namespace dora::operator_runtime
