#include "message/drops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace dora::message {

namespace {

struct Place {
    const char* key;
    const char* label;
};
constexpr std::array<Place, 4> kPlaces{{{kDropEgress, "egress"},
                                        {kDropLink, "link"},
                                        {kDropIngress, "ingress"},
                                        {kDropInputQueue, "input queue"}}};

}  // namespace

void add_drop(std::vector<DropCount>& drops, DropCount drop) {
    if (drop.count == 0) {
        return;
    }
    auto same = std::find_if(drops.begin(), drops.end(), [&](const DropCount& d) {
        return d.place == drop.place && d.machine_id == drop.machine_id &&
               d.node_id == drop.node_id && d.port == drop.port;
    });
    if (same != drops.end()) {
        same->count += drop.count;
        return;
    }
    drops.push_back(std::move(drop));
}

uint64_t total_dropped(const std::vector<DropCount>& drops) {
    uint64_t total = 0;
    for (const auto& d : drops) {
        total += d.count;
    }
    return total;
}

std::string describe_drops(const std::vector<DropCount>& drops) {
    std::string out;
    for (const Place& place : kPlaces) {
        uint64_t count = 0;
        for (const auto& d : drops) {
            count += d.place == place.key ? d.count : 0;
        }
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", place.label, count);
    }
    for (const auto& d : drops) {
        bool known = std::any_of(kPlaces.begin(), kPlaces.end(),
                                 [&](const Place& p) { return d.place == p.key; });
        if (!known) {
            out += fmt::format(", {} {}", d.place, d.count);
        }
    }
    return out;
}

std::string finished_line(const std::vector<DropCount>& drops) {
    const uint64_t total = total_dropped(drops);
    if (total == 0) {
        return "finished successfully";
    }
    return fmt::format("finished with {} message(s) dropped ({})", total, describe_drops(drops));
}

}  // namespace dora::message
