// libFuzzer target for the ZENOH_CONFIG reader: json5 parsing, config keys and endpoints.
// Any input must give a value or an error, never a crash, hang or stack overflow.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "zenoh/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto config = dora::zenoh::parse_config(text, "fuzz");
    if (config) {
        // Endpoints print to text that parses back to the same endpoint.
        for (const auto& ep : config->connect) {
            auto again = dora::zenoh::parse_endpoint(ep.to_string());
            if (!again || !(*again == ep)) {
                std::abort();
            }
        }
    }
    (void)dora::zenoh::parse_endpoint(text);
    return 0;
}
