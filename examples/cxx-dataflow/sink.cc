// A C++ sink on dora's C++ API: prints each byte it receives, as Arrow (event_as_arrow_input),
// until the event stream ends.
#include <dora-node-api.h>

#include <dora/arrow.hpp>
#include <iostream>
#include <string>

int main() {
    auto dora_node = init_dora_node();
    int received = 0;
    for (;;) {
        auto event = dora_node.events->next();
        auto ty = event_type(event);
        if (ty == DoraEventType::AllInputsClosed) {
            break;
        }
        if (ty == DoraEventType::InputClosed) {
            std::cout << "[sink] input closed after " << received << " messages" << std::endl;
        }
        if (ty != DoraEventType::Input) {
            continue;
        }
        ArrowArray array{};
        ArrowSchema schema{};
        auto result = event_as_arrow_input(std::move(event), reinterpret_cast<uint8_t*>(&array),
                                           reinterpret_cast<uint8_t*>(&schema));
        if (!std::string(result.error).empty()) {
            std::cerr << "event_as_arrow_input: " << std::string(result.error) << std::endl;
            return 1;
        }
        const auto* values = static_cast<const uint8_t*>(array.buffers[1]);
        std::cout << "[sink] " << schema.format << "[" << array.length
                  << "] = " << static_cast<unsigned>(values[array.offset]) << std::endl;
        ++received;
        array.release(&array);
        schema.release(&schema);
    }
    return 0;
}
