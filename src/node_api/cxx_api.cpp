// dora's C++ node API (include/dora-node-api.h) over dora::Node. Events and OutputSender share
// the Node; receiving and sending touch disjoint parts of it (inputs / outputs), which is what
// lets them be used from two threads as in dora.
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "dora-node-api.h"
#include "dora/node.hpp"
#include "node_api/compat.hpp"

namespace dora::compat {

uint64_t ntp64_from_ns(uint64_t ns) {
    constexpr uint64_t kNsPerSecond = 1'000'000'000;
    const uint64_t seconds = ns / kNsPerSecond;
    const uint64_t fraction = ((ns % kNsPerSecond) << 32) / kNsPerSecond;
    return (seconds << 32) | fraction;
}

std::span<const std::byte> input_bytes(const Event& event) {
    if (event.type != EventType::Input) {
        return {};
    }
    return event.data();
}

DoraNode make_cxx_node(Node node) {
    auto shared = std::make_shared<Node>(std::move(node));
    return DoraNode{rust::Box<Events>(std::make_unique<Events>(shared)),
                    rust::Box<OutputSender>(std::make_unique<OutputSender>(shared))};
}

}  // namespace dora::compat

struct DoraEvent::Impl {
    std::optional<dora::Event> event;  // empty: the stream has ended
};

DoraEvent::~DoraEvent() { delete impl_; }

namespace {

rust::Box<DoraEvent> box_event(std::optional<dora::Event> event) {
    return rust::Box<DoraEvent>(std::make_unique<DoraEvent>(new DoraEvent::Impl{std::move(event)}));
}

// The event of `event` (std::nullopt: the stream has ended).
std::optional<dora::Event>& event_of(const rust::Box<DoraEvent>& event) {
    return event->impl().event;
}

DoraResult result_of(const dora::NodeResult<>& sent) {
    return DoraResult{sent ? rust::String() : rust::String(sent.error())};
}

}  // namespace

rust::Box<DoraEvent> Events::next() {
    if (node_->finished()) {
        return box_event(std::nullopt);
    }
    return box_event(node_->next());
}

MergedDoraEvent MergedEvents::next() {
    if (!events_) {
        return MergedDoraEvent{box_event(std::nullopt)};
    }
    return MergedDoraEvent{events_->next()};
}

bool CombinedEvent::is_dora() const noexcept { return event_of(event->event).has_value(); }

CombinedEvent CombinedEvents::next() {
    return CombinedEvent{
        rust::Box<MergedDoraEvent>(std::make_unique<MergedDoraEvent>(events->next()))};
}

DoraNode init_dora_node() {
    auto node = dora::Node::try_from_env();
    if (!node) {
        throw rust::Error("failed to initialize node: " + node.error());
    }
    return dora::compat::make_cxx_node(std::move(*node));
}

rust::Box<DoraEvent> next_event(rust::Box<Events>& events) { return events->next(); }

DoraEventType event_type(const rust::Box<DoraEvent>& event) {
    const auto& e = event_of(event);
    if (!e) {
        return DoraEventType::AllInputsClosed;
    }
    switch (e->type) {
        case dora::EventType::Stop:
            return DoraEventType::Stop;
        case dora::EventType::Input:
            return DoraEventType::Input;
        case dora::EventType::InputClosed:
            return DoraEventType::InputClosed;
        case dora::EventType::Error:
            return DoraEventType::Error;
        case dora::EventType::InputRecovered:
            return DoraEventType::Unknown;  // dora's C++ API has no such type either
    }
    return DoraEventType::Unknown;
}

DoraInput event_as_input(rust::Box<DoraEvent> event) {
    const auto& e = event_of(event);
    if (!e || e->type != dora::EventType::Input) {
        throw rust::Error("not an input event");
    }
    const auto bytes = dora::compat::input_bytes(*e);
    const auto* first = reinterpret_cast<const uint8_t*>(bytes.data());
    return DoraInput{rust::String(e->id),
                     rust::Vec<uint8_t>(std::vector<uint8_t>(first, first + bytes.size()))};
}

DoraResult send_output(rust::Box<OutputSender>& output_sender, rust::String id,
                       rust::Slice<const uint8_t> data) {
    return result_of(output_sender->node().try_send_output(
        std::string_view(id.data(), id.size()),
        std::span(reinterpret_cast<const std::byte*>(data.data()), data.size())));
}

DoraResult send_arrow_output(rust::Box<OutputSender>& output_sender, rust::String id,
                             uint8_t* array_ptr, uint8_t* schema_ptr) {
    if (array_ptr == nullptr || schema_ptr == nullptr) {
        return DoraResult{"Received null Arrow array or schema pointer"};
    }
    return result_of(output_sender->node().try_send_output_arrow(
        std::string_view(id.data(), id.size()), reinterpret_cast<ArrowArray*>(array_ptr),
        reinterpret_cast<ArrowSchema*>(schema_ptr)));
}

DoraResult event_as_arrow_input(rust::Box<DoraEvent> event, uint8_t* out_array,
                                uint8_t* out_schema) {
    const auto& e = event_of(event);
    if (!e || e->type != dora::EventType::Input) {
        return DoraResult{"Not an input event"};
    }
    if (out_array == nullptr || out_schema == nullptr) {
        return DoraResult{"Received null output pointer"};
    }
    auto error = e->to_arrow(reinterpret_cast<ArrowArray*>(out_array),
                             reinterpret_cast<ArrowSchema*>(out_schema));
    return DoraResult{error ? rust::String(*error) : rust::String()};
}

CombinedEvents dora_events_into_combined(rust::Box<Events> events) {
    return CombinedEvents{rust::Box<MergedEvents>(
        std::make_unique<MergedEvents>(std::unique_ptr<Events>(events.into_raw())))};
}

CombinedEvents empty_combined_events() {
    return CombinedEvents{rust::Box<MergedEvents>(std::make_unique<MergedEvents>(nullptr))};
}

rust::Box<DoraEvent> downcast_dora(CombinedEvent event) {
    if (!event_of(event.event->event)) {
        throw rust::Error("not a dora event");
    }
    return std::move(event.event->event);
}
