// The cloud aggregator, the C++ twin of cloud_node.py: prints every sensor reading and,
// regularly and on stop, a summary, with the same lines as the Python node.
//
// Inputs:  any number of sensor readings (JSON bytes from a sensor node), under any input id;
//          summary  (a timer, e.g. dora/timer/secs/10): print the summary
// Outputs: none
//
// A sensor that has sent nothing for kInactiveAfter is reported as INACTIVE. The lines are laid
// out as in dora's python-distributed-zenoh example; values print as Python prints floats.
#include <chrono>
#include <cstdio>
#include <dora/node.hpp>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "python_float.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kInactiveAfter{5};

struct Sensor {
    std::string sensor_type;
    std::string unit;
    double last_value = 0.0;
    Clock::time_point last_seen;
    long count = 0;
};

struct Reading {
    std::string sensor_id;
    std::string sensor_type;
    double value = 0.0;
    std::string unit;
};

// Throws nlohmann::json::exception when the payload is not a reading.
Reading parse_reading(std::span<const std::byte> data) {
    auto json = nlohmann::json::parse(reinterpret_cast<const char*>(data.data()),
                                      reinterpret_cast<const char*>(data.data() + data.size()));
    return {json.at("sensor_id").get<std::string>(), json.at("sensor_type").get<std::string>(),
            json.at("value").get<double>(), json.at("unit").get<std::string>()};
}

void print_rule() { std::printf("%s\n", std::string(70, '=').c_str()); }

void print_summary(const std::map<std::string, Sensor>& sensors, long total) {
    const auto now = Clock::now();
    auto is_active = [&](const Sensor& s) { return now - s.last_seen < kInactiveAfter; };
    int active = 0;
    for (const auto& [id, sensor] : sensors) active += is_active(sensor) ? 1 : 0;

    std::printf("\n");
    print_rule();
    std::printf("Cloud Aggregator Summary - Total Messages: %ld\n", total);
    std::printf("Active Sensors: %d\n", active);
    print_rule();
    for (const auto& [id, s] : sensors) {
        std::printf("%s | %-15s | %-12s | %7.2f %-8s | Count: %5ld\n",
                    is_active(s) ? "🟢 ACTIVE" : "🔴 INACTIVE", id.c_str(), s.sensor_type.c_str(),
                    s.last_value, s.unit.c_str(), s.count);
    }
    print_rule();
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

int main() try {
    auto node = dora::Node::from_env();
    std::map<std::string, Sensor> sensors;  // by sensor_id, sorted like Python's sorted()
    long total = 0;

    for (auto& event : node) {
        if (event.type == dora::EventType::Stop) {
            std::printf("Received stop signal\n");
            break;
        }
        if (event.type == dora::EventType::InputClosed) {
            std::printf("Input `%s` was closed\n", event.id.c_str());
            std::fflush(stdout);
            continue;
        }
        if (event.type == dora::EventType::Error) {
            std::fprintf(stderr, "error event: %s\n", event.error.c_str());
            continue;
        }
        if (event.id == "summary") {
            print_summary(sensors, total);
            continue;
        }
        Reading reading;
        try {
            reading = parse_reading(event.data());
        } catch (const nlohmann::json::exception& error) {
            std::fprintf(stderr, "ignoring a malformed reading on %s: %s\n", event.id.c_str(),
                         error.what());
            continue;
        }
        ++total;
        Sensor& sensor = sensors[reading.sensor_id];
        sensor.sensor_type = reading.sensor_type;
        sensor.unit = reading.unit;
        sensor.last_value = reading.value;
        sensor.last_seen = Clock::now();
        ++sensor.count;
        std::printf(">> [%05ld] Received from %s: %s=%s%s\n", total, reading.sensor_id.c_str(),
                    reading.sensor_type.c_str(), python_float(reading.value).c_str(),
                    reading.unit.c_str());
        std::fflush(stdout);
    }
    std::printf("\n=== Final Summary ===\n");
    print_summary(sensors, total);
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "cloud_node: %s\n", error.what());
    return 1;
}
