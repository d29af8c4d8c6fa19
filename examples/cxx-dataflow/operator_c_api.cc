// A C++ operator on dora's C operator API (dora/operator_api.h), as dora's operator-c-api example:
// it halves each doubled counter it receives and sends the result on `half`. After 15 values it
// returns DORA_STATUS_STOP: it gets no more events, and its runtime node, with no operator left,
// ends (the sink then sees its input closed). Built as build/liboperator_c_api.so.
extern "C" {
#include <dora/operator_api.h>
}

#include <cstdint>
#include <iostream>

namespace {

constexpr int kValuesBeforeStop = 15;

class Halver {
  public:
    // Sends the half of `value`; the result of dora_send_operator_output.
    DoraResult_t on_value(uint8_t value, const SendOutput_t* send_output) {
        const uint8_t half = static_cast<uint8_t>(value / 2);
        ++handled_;
        std::cout << "[operator] " << static_cast<unsigned>(value) << " -> "
                  << static_cast<unsigned>(half) << std::endl;
        return dora_send_operator_output(send_output, "half", &half, 1);
    }
    [[nodiscard]] bool done() const { return handled_ >= kValuesBeforeStop; }
    [[nodiscard]] int handled() const { return handled_; }

  private:
    int handled_ = 0;
};

}  // namespace

extern "C" DoraInitResult_t dora_init_operator() {
    DoraInitResult_t result{};
    result.operator_context = new Halver();
    return result;
}

extern "C" DoraResult_t dora_drop_operator(void* operator_context) {
    auto* halver = static_cast<Halver*>(operator_context);
    std::cout << "[operator] dropped after " << halver->handled() << " values" << std::endl;
    delete halver;
    return {};
}

extern "C" OnEventResult_t dora_on_event(RawEvent_t* event, const SendOutput_t* send_output,
                                         void* operator_context) {
    auto* halver = static_cast<Halver*>(operator_context);
    OnEventResult_t result{};
    result.status = DORA_STATUS_CONTINUE;
    if (event->input != nullptr) {
        Vec_uint8_t data = dora_read_data(event->input);
        if (data.ptr != nullptr && data.len == 1) {
            result.result = halver->on_value(data.ptr[0], send_output);
        }
        dora_free_data(data);
        if (result.result.error == nullptr && halver->done()) {
            std::cout << "[operator] " << kValuesBeforeStop << " values halved, stopping"
                      << std::endl;
            result.status = DORA_STATUS_STOP;
        }
    } else if (event->stop) {
        std::cout << "[operator] received stop" << std::endl;
    }
    return result;
}
