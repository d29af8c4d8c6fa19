// dora::detail::NodeAccess: the runtime's own way into the private parts of the public node API
// (dora::Node's implementation, an Event's keep-alive, an OutputSample's state).
//
// The public header only declares NodeAccess as a friend; this header, which is not installed,
// defines it. Node authors therefore cannot reach NodeImpl or the shared-memory types, while
// node_api itself, its tests and the Python bindings (python/src) can.
//
// Thread safety: static functions with the thread-safety of what they access.
#pragma once

#include <memory>
#include <span>
#include <utility>

#include "dora/node.hpp"
#include "node_api/node_impl.hpp"

namespace dora::detail {

struct NodeAccess {
    using SampleState = OutputSample::State;  // defined in node_impl.hpp

    [[nodiscard]] static NodeImpl& impl(Node& node) { return *node.impl_; }
    [[nodiscard]] static const NodeImpl& impl(const Node& node) { return *node.impl_; }
    [[nodiscard]] static Node make_node(std::unique_ptr<NodeImpl> impl) {
        return Node(std::move(impl));
    }

    [[nodiscard]] static const std::shared_ptr<const ReceivedData>& holder(const Event& event) {
        return event.holder_;
    }
    static void set_data(Event& event, std::span<const std::byte> data,
                         std::shared_ptr<const ReceivedData> holder) {
        event.data_ = data;
        event.holder_ = std::move(holder);
    }

    [[nodiscard]] static OutputSample make_sample(SampleState state) {
        OutputSample sample;
        sample.state_ = std::make_unique<SampleState>(std::move(state));
        return sample;
    }
    // The sample's state, or nullptr for an empty (moved-from, default) sample.
    [[nodiscard]] static SampleState* state(OutputSample& sample) { return sample.state_.get(); }
};

}  // namespace dora::detail
