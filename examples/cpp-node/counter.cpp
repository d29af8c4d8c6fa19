// A node that counts timer ticks and sends the count as an int64 array; with `--print` it
// prints every number it receives instead.
#include <cstdint>
#include <cstdio>
#include <dora/node.hpp>
#include <string_view>

int main(int argc, char** argv) {
    const bool print = argc > 1 && std::string_view(argv[1]) == "--print";
    auto node = dora::Node::from_env();
    int64_t count = 0;
    for (auto& event : node) {
        if (event.type != dora::EventType::Input) {
            continue;
        }
        if (print) {
            if (auto values = event.as<int64_t>()) {
                for (int64_t v : *values) {
                    std::printf("count %lld\n", static_cast<long long>(v));
                }
            }
        } else {
            ++count;
            const int64_t values[] = {count};
            node.send_output_array<int64_t>("count", values, {{"source", std::string("timer")}});
        }
    }
    return 0;
}
