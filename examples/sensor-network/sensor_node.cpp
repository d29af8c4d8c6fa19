// A simulated sensor, the C++ twin of sensor_node.py: on every tick it sends one reading as
// JSON bytes, byte for byte what the Python node sends, and prints the same line (the value as
// Python prints a float: 21.7, 1007.0).
//
//     sensor_node <sensor_id> <sensor_type>
//
// Inputs:  tick     (a timer, e.g. dora/timer/millis/1000)
// Outputs: reading  {"sensor_id", "sensor_type", "value", "unit"} as UTF-8 JSON bytes
#include <cmath>
#include <cstdio>
#include <dora/node.hpp>
#include <exception>
#include <random>
#include <string>
#include <string_view>

#include "python_float.hpp"

namespace {

struct Range {
    double low;
    double high;
    const char* unit;
};

Range range_of(std::string_view sensor_type) {
    if (sensor_type == "temperature") return {15.0, 35.0, "celsius"};
    if (sensor_type == "humidity") return {30.0, 90.0, "percent"};
    if (sensor_type == "pressure") return {980.0, 1050.0, "hPa"};
    return {0.0, 100.0, "units"};
}

// A JSON string literal as Python's json.dumps writes it for ASCII text (ids are ASCII).
std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 3) {
        std::fprintf(stderr, "usage: sensor_node <sensor_id> <sensor_type>\n");
        return 2;
    }
    const std::string sensor_id = argv[1];
    const std::string sensor_type = argv[2];
    const Range range = range_of(sensor_type);
    std::mt19937_64 random(std::random_device{}());
    std::uniform_real_distribution<double> uniform(range.low, range.high);

    auto node = dora::Node::from_env();
    int sent = 0;
    for (auto& event : node) {
        if (event.type == dora::EventType::Stop) break;
        if (event.type != dora::EventType::Input || event.id != "tick") continue;

        const double value = std::round(uniform(random) * 100.0) / 100.0;
        const std::string reading = "{\"sensor_id\": " + json_string(sensor_id) +
                                    ", \"sensor_type\": " + json_string(sensor_type) +
                                    ", \"value\": " + python_float(value) +
                                    ", \"unit\": " + json_string(range.unit) + "}";
        node.send_output("reading", std::as_bytes(std::span(reading.data(), reading.size())));
        ++sent;
        std::printf("[%04d] Sent: %s=%s%s\n", sent, sensor_type.c_str(),
                    python_float(value).c_str(), range.unit);
        std::fflush(stdout);
    }
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "sensor_node: %s\n", error.what());
    return 1;
}
