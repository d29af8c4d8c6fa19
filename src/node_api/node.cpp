// dora::Node: the public API over NodeImpl. Each fallible call is implemented once, as its try_
// variant returning NodeResult; the throwing call is that result's value().
#include "dora/node.hpp"

#include <cstring>

#include "message/arrow_layout.hpp"
#include "node_api/node_access.hpp"
#include "node_api/node_impl.hpp"

namespace dora {

namespace {

NodeResult<> to_node_result(Result<>&& result) {
    if (!result) {
        return NodeResult<>::failure(result.error().message());
    }
    return {};
}

template <typename T>
NodeResult<T> to_node_result(Result<T>&& result) {
    if (!result) {
        return NodeResult<T>::failure(result.error().message());
    }
    return NodeResult<T>(std::move(*result));
}

}  // namespace

std::optional<std::string_view> Event::as_string() const {
    if (metadata.arrow_format == "u" || metadata.arrow_format == "U" ||
        metadata.arrow_format == "C" || metadata.arrow_format == "c") {
        return std::string_view(reinterpret_cast<const char*>(data_.data()), data_.size());
    }
    return std::nullopt;
}

std::optional<std::string> Event::to_arrow(ArrowArray* array, ArrowSchema* schema) const {
    if (!holder_) {
        message::ArrowTypeInfo empty;
        empty.format = "n";
        auto ok = message::export_array(empty, nullptr, 0, nullptr, array, schema);
        return ok ? std::nullopt : std::optional<std::string>(ok.error().message());
    }
    auto ok = message::export_array(holder_->metadata().type_info, holder_->data(),
                                    holder_->data_len(), holder_, array, schema);
    return ok ? std::nullopt : std::optional<std::string>(ok.error().message());
}

// The state holds a shm::WritableSample, which frees an unsent sample by itself and keeps its
// segment mapped: nothing here needs the node, which may be gone.
OutputSample::OutputSample() = default;
OutputSample::OutputSample(OutputSample&&) noexcept = default;
OutputSample& OutputSample::operator=(OutputSample&&) noexcept = default;
OutputSample::~OutputSample() = default;

std::span<std::byte> OutputSample::data() const {
    return state_ ? state_->sample.data() : std::span<std::byte>{};
}

Node Node::from_env() { return try_from_env().value(); }

Node Node::from_id(std::string_view node_id) { return try_from_id(node_id).value(); }

NodeResult<Node> Node::try_from_id(std::string_view node_id) {
    auto impl = NodeImpl::join_dynamic(node_id);
    if (!impl) {
        return NodeResult<Node>::failure(impl.error().message());
    }
    return Node(std::move(*impl));
}

NodeResult<Node> Node::try_from_env() {
    auto impl = NodeImpl::from_env();
    if (!impl) {
        return NodeResult<Node>::failure(impl.error().message());
    }
    return Node(std::move(*impl));
}

Node::Node(std::unique_ptr<NodeImpl> impl) : impl_(std::move(impl)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

std::optional<Event> Node::next(std::optional<std::chrono::nanoseconds> timeout) {
    return impl_->next(timeout);
}

bool Node::finished() const { return impl_->finished(); }

void Node::send_output(std::string_view output_id, std::span<const std::byte> data,
                       const Parameters& parameters) {
    try_send_output(output_id, data, parameters).value();
}

NodeResult<> Node::try_send_output(std::string_view output_id, std::span<const std::byte> data,
                                   const Parameters& parameters) {
    return to_node_result(impl_->send_bytes(output_id, data, parameters));
}

void Node::send_output_string(std::string_view output_id, std::string_view text,
                              const Parameters& parameters) {
    try_send_output_string(output_id, text, parameters).value();
}

NodeResult<> Node::try_send_output_string(std::string_view output_id, std::string_view text,
                                          const Parameters& parameters) {
    return to_node_result(impl_->send_string(output_id, text, parameters));
}

NodeResult<> Node::try_send_primitive(std::string_view output_id, const char* format,
                                      const void* values, size_t count, size_t element_size,
                                      const Parameters& parameters) {
    const size_t bytes = count * element_size;
    return to_node_result(impl_->send(output_id,
                                      message::primitive_type_info(format, count, element_size),
                                      bytes, parameters, [&](std::byte* dest) {
                                          if (bytes != 0) {
                                              std::memcpy(dest, values, bytes);
                                          }
                                      }));
}

void Node::send_output_arrow(std::string_view output_id, ArrowArray* array, ArrowSchema* schema,
                             const Parameters& parameters) {
    try_send_output_arrow(output_id, array, schema, parameters).value();
}

NodeResult<> Node::try_send_output_arrow(std::string_view output_id, ArrowArray* array,
                                         ArrowSchema* schema, const Parameters& parameters) {
    return to_node_result(impl_->send_arrow(output_id, array, schema, parameters));
}

OutputSample Node::allocate_output(size_t size) { return try_allocate_output(size).value(); }

NodeResult<OutputSample> Node::try_allocate_output(size_t size) {
    return to_node_result(impl_->allocate_output(size));
}

void Node::send_output_sample(std::string_view output_id, OutputSample&& sample,
                              const Parameters& parameters) {
    try_send_output_sample(output_id, std::move(sample), parameters).value();
}

NodeResult<> Node::try_send_output_sample(std::string_view output_id, OutputSample&& sample,
                                          const Parameters& parameters) {
    return to_node_result(impl_->send_output_sample(output_id, std::move(sample), parameters));
}

void Node::close() { impl_->close_outputs(); }

const std::string& Node::dataflow_id() const { return impl_->config().dataflow_id; }
const std::string& Node::node_id() const { return impl_->config().node_id; }
const std::string& Node::dataflow_descriptor_path() const {
    return impl_->config().descriptor_path;
}

std::string Node::dataflow_descriptor() const { return try_dataflow_descriptor().value(); }

NodeResult<std::string> Node::try_dataflow_descriptor() const {
    return to_node_result(impl_->dataflow_descriptor());
}

std::vector<std::string> Node::input_ids() const { return impl_->input_ids(); }
std::vector<std::string> Node::output_ids() const { return impl_->output_ids(); }

std::map<std::string, uint64_t> Node::dropped_inputs() const { return impl_->dropped_inputs(); }

}  // namespace dora
