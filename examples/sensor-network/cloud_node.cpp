// The cloud aggregator, the C++ twin of cloud_node.py: prints every sensor reading and,
// regularly and on stop, a summary, with the same lines as the Python node.
//
// Inputs:  any number of sensor readings (JSON bytes from a sensor node), under any input id;
//          summary  (a timer, e.g. dora/timer/secs/10): print the summary
// Outputs: none
//
// A sensor that has sent nothing for kInactiveAfter is reported as INACTIVE.
#include <chrono>
#include <cstdio>
#include <dora/node.hpp>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

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

void print_summary(const std::map<std::string, Sensor>& sensors, long total,
                   Clock::time_point started) {
    const auto now = Clock::now();
    auto is_active = [&](const Sensor& s) { return now - s.last_seen < kInactiveAfter; };
    int active = 0;
    for (const auto& [id, sensor] : sensors) active += is_active(sensor) ? 1 : 0;

    std::printf("=== Sensor network summary after %.1f s ===\n",
                std::chrono::duration<double>(now - started).count());
    std::printf("Total messages: %ld\n", total);
    std::printf("Active sensors: %d/%zu\n", active, sensors.size());
    for (const auto& [id, s] : sensors) {
        std::printf("  %-16s %-8s  type=%-12s last=%.2f%-8s count=%ld\n", id.c_str(),
                    is_active(s) ? "ACTIVE" : "INACTIVE", s.sensor_type.c_str(), s.last_value,
                    s.unit.c_str(), s.count);
    }
    std::printf("=== end of summary ===\n");
    std::fflush(stdout);
}

}  // namespace

int main() try {
    auto node = dora::Node::from_env();
    std::map<std::string, Sensor> sensors;  // by sensor_id, sorted like Python's sorted()
    long total = 0;
    const auto started = Clock::now();

    for (auto& event : node) {
        if (event.type == dora::EventType::Stop) break;
        if (event.type == dora::EventType::InputClosed) {
            std::printf("input %s closed\n", event.id.c_str());
            std::fflush(stdout);
            continue;
        }
        if (event.type == dora::EventType::Error) {
            std::fprintf(stderr, "error event: %s\n", event.error.c_str());
            continue;
        }
        if (event.id == "summary") {
            print_summary(sensors, total, started);
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
        std::printf(">> [%05ld] Received from %s: %s=%.2f%s\n", total, reading.sensor_id.c_str(),
                    reading.sensor_type.c_str(), reading.value, reading.unit.c_str());
        std::fflush(stdout);
    }
    print_summary(sensors, total, started);
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "cloud_node: %s\n", error.what());
    return 1;
}
