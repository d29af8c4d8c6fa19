// libFuzzer target: parse_node_config on arbitrary bytes (the DORA_NODE_CONFIG a node reads).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "message/node_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto config = dora::message::parse_node_config(
        std::string_view(reinterpret_cast<const char*>(data), size));
    if (config) {
        // Whatever parses must encode and parse back to the same thing.
        auto again = dora::message::parse_node_config(dora::message::to_json(*config));
        if (!again || again->node_id != config->node_id ||
            again->inputs.size() != config->inputs.size()) {
            __builtin_trap();
        }
    }
    return 0;
}
