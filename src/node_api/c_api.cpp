// dora's C node API (include/dora/node_api.h) over dora::Node. A context owns a Node; an event
// owns a dora::Event, whose data stays mapped while the event lives (also after the context is
// freed). Errors are printed on stderr, which the daemon keeps in the node's log, as dora does.
#include <cstdio>
#include <exception>
#include <memory>
#include <string_view>

#include "dora/node.hpp"
#include "dora/node_api.h"
#include "node_api/compat.hpp"

namespace {

struct CContext {
    dora::Node node;
};

struct CEvent {
    dora::Event event;
};

void report(std::string_view what) {
    std::fprintf(stderr, "dora: %.*s\n", static_cast<int>(what.size()), what.data());
}

CContext* context_of(void* p) { return static_cast<CContext*>(p); }
const CEvent* event_of(void* p) { return static_cast<const CEvent*>(p); }

}  // namespace

namespace dora::compat {

void* make_c_context(Node node) { return new CContext{std::move(node)}; }

}  // namespace dora::compat

extern "C" {

void* init_dora_context_from_env(void) {
    auto node = dora::Node::try_from_env();
    if (!node) {
        report("failed to initialize node: " + node.error());
        return nullptr;
    }
    return dora::compat::make_c_context(std::move(*node));
}

void* init_dora_context_from_id(const char* node_id) {
    if (node_id == nullptr) {
        report("init_dora_context_from_id: the node id is NULL");
        return nullptr;
    }
    auto node = dora::Node::try_from_id(node_id);
    if (!node) {
        report("failed to initialize node: " + node.error());
        return nullptr;
    }
    return dora::compat::make_c_context(std::move(*node));
}

void free_dora_context(void* dora_context) { delete context_of(dora_context); }

void* dora_next_event(void* dora_context) {
    if (dora_context == nullptr) {
        report("dora_next_event: the context is NULL (init_dora_context_from_env failed?)");
        return nullptr;
    }
    auto event = context_of(dora_context)->node.next();
    if (!event) {
        return nullptr;  // the event stream has ended
    }
    return new CEvent{std::move(*event)};
}

void free_dora_event(void* dora_event) { delete event_of(dora_event); }

enum DoraEventType read_dora_event_type(void* dora_event) {
    if (dora_event == nullptr) {
        return DoraEventType_Unknown;
    }
    switch (event_of(dora_event)->event.type) {
        case dora::EventType::Stop:
            return DoraEventType_Stop;
        case dora::EventType::Input:
            return DoraEventType_Input;
        case dora::EventType::InputClosed:
            return DoraEventType_InputClosed;
        case dora::EventType::Error:
            return DoraEventType_Error;
        case dora::EventType::InputRecovered:
            return DoraEventType_Unknown;  // dora's C API has no such type either
    }
    return DoraEventType_Unknown;
}

void read_dora_input_id(void* dora_event, char** out_ptr, size_t* out_len) {
    const auto* e = dora_event == nullptr ? nullptr : event_of(dora_event);
    if (e == nullptr || e->event.type != dora::EventType::Input) {
        *out_ptr = nullptr;
        *out_len = 0;
        return;
    }
    // The C API hands out `char*` (dora's signature); the id is never written through it.
    *out_ptr =
        const_cast<char*>(e->event.id.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    *out_len = e->event.id.size();
}

void read_dora_input_data(void* dora_event, char** out_ptr, size_t* out_len) {
    const auto* e = dora_event == nullptr ? nullptr : event_of(dora_event);
    const auto bytes = e == nullptr || e->event.type != dora::EventType::Input
                           ? std::span<const std::byte>()
                           : dora::compat::input_bytes(e->event);
    if (bytes.empty()) {
        *out_ptr = nullptr;
        *out_len = 0;
        return;
    }
    // Read-only shared memory behind a `char*` (dora's signature): writing through it faults.
    *out_ptr = const_cast<char*>(  // NOLINT(cppcoreguidelines-pro-type-const-cast)
        reinterpret_cast<const char*>(bytes.data()));
    *out_len = bytes.size();
}

unsigned long long read_dora_input_timestamp(void* dora_event) {
    const auto* e = dora_event == nullptr ? nullptr : event_of(dora_event);
    if (e == nullptr || e->event.type != dora::EventType::Input) {
        return 0;
    }
    return dora::compat::ntp64_from_ns(e->event.metadata.timestamp_ns);
}

int dora_send_output(void* dora_context, const char* id_ptr, size_t id_len, const char* data_ptr,
                     size_t data_len) {
    if (dora_context == nullptr) {
        report("dora_send_output: the context is NULL (init_dora_context_from_env failed?)");
        return -1;
    }
    if (data_ptr == nullptr && data_len != 0) {
        report("dora_send_output: data is NULL but data_len is not 0");
        return -1;
    }
    const std::string_view id(id_ptr == nullptr ? "" : id_ptr, id_ptr == nullptr ? 0 : id_len);
    auto sent = context_of(dora_context)
                    ->node.try_send_output(
                        id, std::span(reinterpret_cast<const std::byte*>(data_ptr), data_len));
    if (!sent) {
        report(sent.error());
        return -1;
    }
    return 0;
}

}  // extern "C"
