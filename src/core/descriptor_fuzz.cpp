// libFuzzer target: arbitrary bytes as a dataflow YAML file must give a Descriptor or an Error,
// never a crash, hang or sanitizer report; whatever parses must also validate without one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/descriptor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = dora::parse_descriptor(text, "fuzz.yml");
    if (!parsed) return 0;
    (void)dora::validate(*parsed, {.check_paths = false});
    for (const auto& node : parsed->nodes) {
        for (const auto& input : node.inputs) (void)dora::format_input_source(input.source);
        (void)parsed->effective_deploy(node);
    }
    return 0;
}
