// dora::Node: the throwing convenience layer over NodeImpl.
#include "dora/node.hpp"

#include "message/arrow_layout.hpp"
#include "node_api/node_impl.hpp"

namespace dora {

namespace {

template <typename T>
T value_or_throw(Result<T>&& result) {
    if (!result) {
        throw NodeError(result.error().message());
    }
    if constexpr (!std::is_void_v<T>) {
        return std::move(*result);
    }
}

void check(Result<> result) {
    if (!result) {
        throw NodeError(result.error().message());
    }
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
    if (!holder) {
        message::ArrowTypeInfo empty;
        empty.format = "n";
        auto ok = message::export_array(empty, nullptr, 0, nullptr, array, schema);
        return ok ? std::nullopt : std::optional<std::string>(ok.error().message());
    }
    auto ok = message::export_array(holder->metadata().type_info, holder->data(),
                                    holder->data_len(), holder, array, schema);
    return ok ? std::nullopt : std::optional<std::string>(ok.error().message());
}

OutputSample::OutputSample() = default;
OutputSample::OutputSample(OutputSample&&) noexcept = default;
OutputSample& OutputSample::operator=(OutputSample&&) noexcept = default;
OutputSample::~OutputSample() {
    if (state_ && state_->node != nullptr && state_->sample.valid()) {
        state_->node->abandon(std::move(state_->sample));
    }
}

std::span<std::byte> OutputSample::data() const {
    return state_ ? state_->sample.data() : std::span<std::byte>{};
}

Node Node::from_env() { return Node(value_or_throw(NodeImpl::from_env())); }

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
    check(impl_->send_bytes(output_id, data, parameters));
}

void Node::send_output_string(std::string_view output_id, std::string_view text,
                              const Parameters& parameters) {
    check(impl_->send_string(output_id, text, parameters));
}

void Node::send_primitive(std::string_view output_id, const char* format, const void* values,
                          size_t count, size_t element_size, const Parameters& parameters) {
    const size_t bytes = count * element_size;
    check(impl_->send(output_id, message::primitive_type_info(format, count, element_size), bytes,
                      parameters, [&](std::byte* dest) {
                          if (bytes != 0) {
                              std::memcpy(dest, values, bytes);
                          }
                      }));
}

void Node::send_output_arrow(std::string_view output_id, ArrowArray* array, ArrowSchema* schema,
                             const Parameters& parameters) {
    check(impl_->send_arrow(output_id, array, schema, parameters));
}

OutputSample Node::allocate_output(size_t size) {
    OutputSample sample;
    sample.state_ = std::make_unique<OutputSample::State>();
    sample.state_->node = impl_.get();
    sample.state_->sample = value_or_throw(impl_->allocate(size));
    return sample;
}

void Node::send_output_sample(std::string_view output_id, OutputSample&& sample,
                              const Parameters& parameters) {
    if (!sample.state_ || !sample.state_->sample.valid()) {
        throw NodeError("send_output_sample: the sample was already sent or is empty");
    }
    auto data = sample.state_->sample.data();
    check(impl_->send_sample(output_id, std::move(sample.state_->sample),
                             message::bytes_type_info(data.size()), parameters));
}

const std::string& Node::dataflow_id() const { return impl_->config().dataflow_id; }
const std::string& Node::node_id() const { return impl_->config().node_id; }
const std::string& Node::dataflow_descriptor_path() const {
    return impl_->config().descriptor_path;
}

std::vector<std::string> Node::input_ids() const {
    std::vector<std::string> ids;
    for (const auto& i : impl_->config().inputs) {
        ids.push_back(i.id);
    }
    return ids;
}

std::vector<std::string> Node::output_ids() const {
    std::vector<std::string> ids;
    for (const auto& o : impl_->config().outputs) {
        ids.push_back(o.id);
    }
    return ids;
}

std::map<std::string, uint64_t> Node::dropped_inputs() const { return impl_->dropped_inputs(); }

}  // namespace dora
