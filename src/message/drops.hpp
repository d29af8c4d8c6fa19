// Messages lost on the way, counted where it happened (DESIGN section 8, "Nothing is lost
// silently"). A daemon counts per output (the sender's side: egress, link) and per input (the
// receiver's side: ingress, input queue); the coordinator keeps each daemon's latest counts per
// dataflow, `dora list` shows their total, and the dataflow's result carries them.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dora::message {

// Where a message was lost, in the order a message travels.
inline constexpr const char* kDropEgress = "egress";           // the sender daemon's queue
inline constexpr const char* kDropLink = "link";               // between the daemons
inline constexpr const char* kDropIngress = "ingress";         // the receiver daemon
inline constexpr const char* kDropInputQueue = "input_queue";  // the receiving node's queue

struct DropCount {
    std::string place;  // kDropEgress | kDropLink | kDropIngress | kDropInputQueue
    std::string machine_id;
    std::string node_id;  // the producer (egress, link) or the receiver (ingress, input queue)
    std::string port;     // its output (egress, link) or its input (ingress, input queue)
    uint64_t count = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DropCount, place, machine_id, node_id, port, count)

// Adds `drop` to `drops`: to the entry of the same place, machine, node and port, or as a new
// one. Zero counts are left out.
void add_drop(std::vector<DropCount>& drops, DropCount drop);
[[nodiscard]] uint64_t total_dropped(const std::vector<DropCount>& drops);
// "egress 3, link 0, ingress 1, input queue 7": every place, in travel order.
[[nodiscard]] std::string describe_drops(const std::vector<DropCount>& drops);
// The line that ends a run: "finished successfully" or "finished with N message(s) dropped
// (egress ..., ...)".
[[nodiscard]] std::string finished_line(const std::vector<DropCount>& drops);

}  // namespace dora::message
