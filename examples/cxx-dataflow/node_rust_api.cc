// A C++ node on dora's C++ API (dora-node-api.h): counts timer ticks and sends the count as one
// byte on `counter`; stops after 20 ticks.
#include <dora-node-api.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

int main() {
    auto dora_node = init_dora_node();
    unsigned char counter = 0;
    for (int i = 0; i < 20; i++) {
        auto event = dora_node.events->next();
        auto ty = event_type(event);
        if (ty == DoraEventType::AllInputsClosed) {
            break;
        }
        if (ty != DoraEventType::Input) {
            continue;
        }
        auto input = event_as_input(std::move(event));
        counter += 1;
        std::cout << "[rust api] " << std::string(input.id) << " -> counter "
                  << static_cast<unsigned>(counter) << std::endl;
        std::vector<unsigned char> out{counter};
        rust::Slice<const uint8_t> out_slice{out.data(), out.size()};
        auto result = send_output(dora_node.send_output, "counter", out_slice);
        if (!std::string(result.error).empty()) {
            std::cerr << "send_output: " << std::string(result.error) << std::endl;
            return 1;
        }
    }
    return 0;
}
