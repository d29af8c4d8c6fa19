#include "node_api/node_impl.hpp"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/net.hpp"
#include "core/sys.hpp"
#include "message/arrow_layout.hpp"
#include "message/framed_stream.hpp"
#include "message/node_config_file.hpp"
#include "node_api/descriptor_json.hpp"
#include "node_api/node_access.hpp"
#include "zenoh/config.hpp"  // the key name only: nothing of zenoh is linked

namespace dora {

namespace {

constexpr size_t kMetadataReserve = 1024;

// The bytes of the values buffer of a primitive/binary array, or of the first buffer there is.
std::span<const std::byte> values_span(const message::ArrowTypeInfo& info, const std::byte* data,
                                       uint64_t data_len) {
    size_t index = 1;
    if (info.format == "u" || info.format == "z" || info.format == "U" || info.format == "Z") {
        index = 2;
    }
    if (info.buffers.size() <= index || info.buffers[index].is_null()) {
        return {};
    }
    const auto& b = info.buffers[index];
    if (b.offset > data_len || b.length > data_len - b.offset) {
        return {};
    }
    auto span = std::span<const std::byte>(data + b.offset, b.length);
    if (info.format.size() == 1 && index == 1) {
        // Fixed-width: honour offset/length in elements.
        size_t width = 0;
        switch (info.format[0]) {
            case 'c':
            case 'C':
                width = 1;
                break;
            case 's':
            case 'S':
            case 'e':
                width = 2;
                break;
            case 'i':
            case 'I':
            case 'f':
                width = 4;
                break;
            case 'l':
            case 'L':
            case 'g':
                width = 8;
                break;
            default:
                break;
        }
        if (width != 0 && info.offset >= 0 && info.length >= 0) {
            size_t start = static_cast<size_t>(info.offset) * width;
            size_t len = static_cast<size_t>(info.length) * width;
            if (start <= span.size() && len <= span.size() - start) {
                return span.subspan(start, len);
            }
        }
    }
    return span;
}

}  // namespace

ReceivedData::ReceivedData(std::shared_ptr<shm::Region> region,
                           std::shared_ptr<shm::SegmentCache> cache,
                           std::atomic<uint32_t>* refcount, int64_t lease,
                           message::Metadata metadata, const std::byte* data, uint64_t data_len)
    : region_(std::move(region)),
      cache_(std::move(cache)),
      refcount_(refcount),
      lease_(lease),
      metadata_(std::move(metadata)),
      data_(data),
      data_len_(data_len) {}

ReceivedData::~ReceivedData() {
    refcount_->fetch_sub(1, std::memory_order_acq_rel);
    region_->leases().remove(lease_);
}

Result<std::unique_ptr<NodeImpl>> NodeImpl::from_env() {
    const char* text = std::getenv(message::kNodeConfigEnv);
    if (text == nullptr) {
        return fail(
            "this node was started outside a dataflow ({} is not set): start it through "
            "dora, e.g. `dora run dataflow.yml` or `dora start dataflow.yml`, with the "
            "node listed in the dataflow file",
            message::kNodeConfigEnv);
    }
    auto config = message::load_node_config(text);
    if (!config) {
        return fail(config.error());
    }
    return from_config(std::move(*config));
}

Result<std::unique_ptr<NodeImpl>> NodeImpl::join_dynamic(std::string_view node_id) {
    uint16_t port = message::kDefaultDaemonLocalPort;
    if (const char* text = std::getenv(message::kDaemonPortEnv); text != nullptr && *text != 0) {
        char* end = nullptr;
        const long value = std::strtol(text, &end, 10);
        if (*end != '\0' || value <= 0 || value > 65535) {
            return fail("{}={} is not a port number (the daemon's --local-listen-port)",
                        message::kDaemonPortEnv, text);
        }
        port = static_cast<uint16_t>(value);
    }
    const std::string where = fmt::format("the dora daemon at 127.0.0.1:{}", port);
    auto fd = net::connect_tcp("127.0.0.1", port, std::chrono::seconds(5));
    if (!fd) {
        return fail(
            "dynamic node {}: cannot reach {} ({}); start the dataflow on this machine first "
            "(`dora up` and `dora start`), and if its daemon has another --local-listen-port, "
            "set {} to it",
            node_id, where, fd.error().message(), message::kDaemonPortEnv);
    }
    nlohmann::json request = {{"type", "dynamic_node"}, {"node_id", std::string(node_id)}};
    if (const char* dataflow = std::getenv(message::kDynamicDataflowEnv);
        dataflow != nullptr && *dataflow != 0) {
        request["dataflow"] = dataflow;
    }
    message::FramedStream stream;
    if (auto sent = stream.send_blocking(fd->get(), request, std::chrono::seconds(5)); !sent) {
        return fail("dynamic node {}: {}: {}", node_id, where, sent.error().message());
    }
    auto reply = stream.receive_blocking(fd->get(), std::chrono::seconds(10));
    if (!reply || !*reply) {
        return fail("dynamic node {}: {} did not answer{}{}", node_id, where, reply ? "" : ": ",
                    reply ? "" : reply.error().message());
    }
    const nlohmann::json& answer = **reply;
    if (answer.value("type", "") == "refused") {
        return fail("dynamic node {}: {} refused it: {}", node_id, where,
                    answer.value("reason", "(no reason given)"));
    }
    if (answer.value("type", "") != "dynamic_node_config" || !answer.contains("config") ||
        !answer["config"].is_string()) {
        return fail(
            "dynamic node {}: {} sent an unexpected answer (is it a dora-cpp daemon of the "
            "same version?)",
            node_id, where);
    }
    auto config = message::parse_node_config(answer["config"].get<std::string>());
    if (!config) {
        return fail(config.error());
    }
    auto impl = from_config(std::move(*config));
    if (!impl) {
        return fail(impl.error());
    }
    (*impl)->daemon_connection_ = std::move(*fd);
    return impl;
}

Result<std::unique_ptr<NodeImpl>> NodeImpl::from_config(message::NodeConfig config) {
    auto region = shm::Region::open(config.region);
    if (!region) {
        return fail(region.error().context(fmt::format(
            "node {} could not open its input queues (has its dataflow ended?)", config.node_id)));
    }
    if (region->input_count() < config.inputs.size()) {
        return fail("node {}: its input region has {} queues but {} inputs are configured",
                    config.node_id, region->input_count(), config.inputs.size());
    }
    for (const auto& input : config.inputs) {
        if (auto ring = region->checked_ring(input.ring); !ring) {
            return fail("node {}: input {}: {}", config.node_id, input.id, ring.error().message());
        }
    }
    auto shared_region = std::make_shared<shm::Region>(std::move(*region));
    std::unique_ptr<NodeImpl> node(new NodeImpl(std::move(config), std::move(shared_region)));
    if (auto ok = node->connect_outputs(); !ok) {
        return fail(ok.error());
    }
    node->region_->mark_attached();  // the daemon reports the node ready
    return node;
}

NodeImpl::NodeImpl(message::NodeConfig config, std::shared_ptr<shm::Region> region)
    : config_(std::move(config)),
      region_(std::move(region)),
      spin_(std::chrono::nanoseconds(config_.spin_ns)),
      pool_(config_.pool_prefix, config_.sender_index, config_.generation) {
    if (config_.pool_class_limit != 0) {
        pool_.set_class_limit(config_.pool_class_limit);
    }
    std::map<uint16_t, std::string> senders;
    for (const auto& s : config_.senders) {
        senders.emplace(s.index, s.prefix);
    }
    cache_ = std::make_shared<shm::SegmentCache>(std::move(senders));
    for (const auto& input : config_.inputs) {
        inputs_.push_back(InputState{input.id, region_->ring(input.ring), false});
    }
    open_inputs_ = inputs_.size();
}

Result<> NodeImpl::connect_outputs() {
    for (const auto& out : config_.outputs) {
        Output o;
        for (const auto& t : out.targets) {
            auto it = target_regions_.find(t.region);
            if (it == target_regions_.end()) {
                auto r = shm::Region::open(t.region);
                if (!r) {
                    return fail(r.error().context(
                        fmt::format("node {}: connecting output {}", config_.node_id, out.id)));
                }
                it = target_regions_.emplace(t.region, std::make_shared<shm::Region>(std::move(*r)))
                         .first;
            }
            shm::Region* region = it->second.get();
            auto ring = region->checked_ring(t.ring);
            if (!ring) {
                return fail("node {}: output {} targets {} of {}", config_.node_id, out.id,
                            ring.error().message(), t.region);
            }
            auto known = std::find(o.regions.begin(), o.regions.end(), region);
            const auto index = static_cast<size_t>(known - o.regions.begin());
            if (known == o.regions.end()) {
                o.regions.push_back(region);
            }
            o.targets.push_back(Target{*ring, region, index});
        }
        o.id = out.id;
        o.remote_max_message_size = out.remote_max_message_size;
        o.remote_envelope = out.remote_envelope;
        outputs_.emplace(out.id, std::move(o));
    }
    return {};
}

// Outputs are closed by the daemon when the process ends, not here: a node that will be restarted
// (restart_policy) must not make its consumers see INPUT_CLOSED.
NodeImpl::~NodeImpl() = default;

void NodeImpl::close_outputs() {
    if (outputs_closed_) {
        return;
    }
    outputs_closed_ = true;
    for (auto& [id, out] : outputs_) {
        for (auto& t : out.targets) {
            t.ring.close();
        }
        for (auto* r : out.regions) {
            r->signal().notify();
        }
    }
}

bool NodeImpl::has_output(std::string_view id) const { return outputs_.contains(id); }

bool NodeImpl::send_may_wait(std::string_view output_id) const {
    auto it = outputs_.find(output_id);
    return it != outputs_.end() &&
           std::any_of(it->second.targets.begin(), it->second.targets.end(),
                       [](const Target& t) { return t.ring.backpressure(); });
}

Result<NodeImpl::Output*> NodeImpl::output(std::string_view id) {
    if (outputs_closed_) {
        return fail("node {}: cannot send on output {}: the node's outputs are closed",
                    config_.node_id, id);
    }
    auto it = outputs_.find(id);
    if (it == outputs_.end()) {
        std::string known;
        for (const auto& [name, o] : outputs_) {
            known += (known.empty() ? "" : ", ") + name;
        }
        return fail(
            "node {} has no output \"{}\" (its outputs: {}); declare it under `outputs:` "
            "of the node in the dataflow file",
            config_.node_id, id, known.empty() ? "none" : known);
    }
    return &it->second;
}

Result<> NodeImpl::check_crossing(std::string_view output_id, const Output& out, size_t data_len,
                                  size_t metadata_len) const {
    const uint64_t limit = out.remote_max_message_size;
    if (limit == 0 ||
        (limit > out.remote_envelope && data_len <= limit - out.remote_envelope - metadata_len &&
         metadata_len <= limit - out.remote_envelope)) {
        return {};
    }
    return fail(
        "node {}: output {} goes to another machine, and this message cannot cross: {} bytes "
        "of data + {} bytes of metadata + up to {} bytes of Zenoh envelope is more than the {} "
        "bytes a message between machines may have ({} in the daemons' ZENOH_CONFIG); raise "
        "it on every daemon, or send smaller messages",
        config_.node_id, output_id, data_len, metadata_len, out.remote_envelope, limit,
        zenoh::kMaxMessageSizeKey);
}

Result<shm::WritableSample> NodeImpl::allocate(size_t size) {
    // At most once a second: large samples sent a while ago and released by every receiver give
    // their memory back (a node that sent one large message does not keep it resident).
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_free_idle_) {
        (void)pool_.free_idle(shm::kIdleReleaseMinSize);
        next_free_idle_ = now + std::chrono::seconds(1);
    }
    auto sample = pool_.allocate(size, kMetadataReserve);
    if (!sample) {
        return fail("node {}: {}", config_.node_id, sample.error().message());
    }
    return sample;
}

Result<> NodeImpl::publish(Output& out, shm::WritableSample&& sample,
                           const message::ArrowTypeInfo& info, const Parameters& parameters) {
    message::Metadata metadata{clock_.now(), info, parameters};
    const size_t meta_size = message::encoded_size(metadata);
    if (auto fits = check_crossing(out.id, out, sample.data().size(), meta_size); !fits) {
        pool_.abandon(std::move(sample));
        return fail(fits.error());
    }
    if (meta_size > sample.metadata_capacity()) {
        // Large metadata: move the data to a sample with room for it (rare). Assigning the bigger
        // sample gives the first one back to the pool.
        auto bigger = pool_.allocate(sample.data().size(), meta_size);
        if (!bigger) {
            pool_.abandon(std::move(sample));
            return fail(bigger.error());
        }
        std::memcpy(bigger->data().data(), sample.data().data(), sample.data().size());
        sample = std::move(*bigger);
    }
    scratch_.resize(meta_size);
    message::encode(metadata, scratch_);
    auto entry = pool_.publish(std::move(sample), scratch_,
                               static_cast<uint32_t>(out.targets.size()), shm::send_time_ns());
    if (!entry) {
        return fail(entry.error());
    }
    // A region is woken only if something was queued there: an unwatched egress ring (an output
    // nobody watches) costs one load, not a wake-up of the daemon's egress thread.
    uint64_t queued = 0;  // bit i: something went to out.regions[i] (all of them past 64)
    for (auto& t : out.targets) {
        if (t.ring.unwatched()) {
            pool_.release(*entry);
            continue;
        }
        queued |= t.region_index < 64 ? uint64_t{1} << t.region_index : ~uint64_t{0};
        if (t.ring.backpressure()) {
            push_waiting(t, *entry);
        } else if (auto dropped = t.ring.push(*entry)) {
            pool_.release(*dropped);
        }
    }
    for (size_t i = 0; i < out.regions.size(); ++i) {
        if ((queued & (i < 64 ? uint64_t{1} << i : ~uint64_t{0})) != 0) {
            out.regions[i]->signal().notify();
        }
    }
    return {};
}

void NodeImpl::push_waiting(Target& target, const shm::Entry& entry) {
    // Each wait is a slice: a receiver that exits wakes us (mark_consumer_gone), a stop of this
    // node does not, so it is looked at between slices.
    constexpr auto kSlice = std::chrono::milliseconds(50);
    std::optional<std::chrono::steady_clock::time_point> waiting_since;
    for (;;) {
        const uint32_t seen = target.ring.space_seq();
        const shm::PushResult result = target.ring.try_push(entry);
        if (result == shm::PushResult::kConsumerGone) {
            pool_.release(entry);
            break;
        }
        if (result == shm::PushResult::kPushed) {
            break;
        }
        if (region_->stop_reason() != shm::StopReason::kNone) {
            if (auto dropped = target.ring.push(entry)) {  // counted as a drop
                pool_.release(*dropped);
            }
            break;
        }
        if (!waiting_since) {
            waiting_since = std::chrono::steady_clock::now();
            target.region->signal().notify();  // it may sleep on entries not yet announced
        }
        (void)target.ring.wait_for_space(seen, std::chrono::steady_clock::now() + kSlice);
    }
    if (waiting_since) {
        target.ring.count_wait(
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - *waiting_since)
                                      .count()));
    }
}

Result<> NodeImpl::send_sample(std::string_view output_id, shm::WritableSample&& sample,
                               const message::ArrowTypeInfo& info, const Parameters& parameters) {
    auto out = output(output_id);
    if (!out) {
        pool_.abandon(std::move(sample));
        return fail(out.error());
    }
    if ((*out)->targets.empty()) {
        pool_.abandon(std::move(sample));
        return {};
    }
    return publish(**out, std::move(sample), info, parameters);
}

Result<> NodeImpl::send_bytes(std::string_view output_id, std::span<const std::byte> data,
                              const Parameters& parameters) {
    return send(output_id, message::bytes_type_info(data.size()), data.size(), parameters,
                [&](std::byte* dest) {
                    if (!data.empty()) {
                        std::memcpy(dest, data.data(), data.size());
                    }
                });
}

Result<> NodeImpl::send_string(std::string_view output_id, std::string_view text,
                               const Parameters& parameters) {
    const std::string_view strings[] = {text};
    auto layout = message::utf8_layout(strings);
    return send(output_id, layout.type_info, layout.total_size, parameters,
                [&](std::byte* dest) { message::pack_utf8(strings, layout, dest); });
}

Result<> NodeImpl::send_arrow(std::string_view output_id, ArrowArray* array, ArrowSchema* schema,
                              const Parameters& parameters) {
    struct Releaser {
        ArrowArray* a;
        ArrowSchema* s;
        ~Releaser() {
            if (a != nullptr && a->release != nullptr) a->release(a);
            if (s != nullptr && s->release != nullptr) s->release(s);
        }
    } releaser{array, schema};
    if (array == nullptr || schema == nullptr || array->release == nullptr ||
        schema->release == nullptr) {
        return fail("send_output: the Arrow array or schema is null or already released");
    }
    auto plan = message::plan_packing(*array, *schema);
    if (!plan) {
        return fail(plan.error().context("send_output: unsupported Arrow array"));
    }
    return send(output_id, plan->type_info, plan->total_size, parameters,
                [&](std::byte* dest) { message::pack(*array, *plan, dest); });
}

Result<OutputSample> NodeImpl::allocate_output(size_t size) {
    auto sample = allocate(size);
    if (!sample) {
        return fail(sample.error().context(fmt::format("allocate_output({})", size)));
    }
    return detail::NodeAccess::make_sample(
        detail::NodeAccess::SampleState{identity_, std::move(*sample)});
}

Result<> NodeImpl::send_output_sample(std::string_view output_id, OutputSample&& sample,
                                      const Parameters& parameters) {
    detail::NodeAccess::SampleState* state = detail::NodeAccess::state(sample);
    if (state == nullptr || !state->sample.valid()) {
        return fail(
            "send_output_sample(\"{}\"): the sample was already sent, or is empty (moved "
            "from or default-constructed); allocate one with allocate_output",
            output_id);
    }
    // Taken out of the caller's sample first: whatever happens below it is sent or freed once.
    shm::WritableSample taken = std::move(state->sample);
    const bool mine =
        !state->owner.owner_before(identity_) && !identity_.owner_before(state->owner);
    if (!mine) {
        if (state->owner.expired()) {
            return fail(
                "send_output_sample(\"{}\"): the sample was allocated by a dora::Node that "
                "has been destroyed; its memory is freed, allocate a new sample",
                output_id);
        }
        return fail(
            "send_output_sample(\"{}\"): the sample was allocated by another dora::Node; "
            "send it through the node that allocated it",
            output_id);
    }
    const auto info = message::bytes_type_info(taken.data().size());
    return send_sample(output_id, std::move(taken), info, parameters);
}

std::vector<std::string> NodeImpl::input_ids() const {
    std::vector<std::string> ids;
    for (const auto& input : config_.inputs) {
        ids.push_back(input.id);
    }
    return ids;
}

std::vector<std::string> NodeImpl::output_ids() const {
    std::vector<std::string> ids;
    for (const auto& output : config_.outputs) {
        ids.push_back(output.id);
    }
    return ids;
}

Result<std::string> NodeImpl::dataflow_descriptor() const {
    const std::string& path = config_.descriptor_path;
    if (path.empty()) {
        return fail(
            "dataflow_descriptor(): node {} was not given its dataflow file by the daemon "
            "(dynamic nodes have none)",
            config_.node_id);
    }
    std::ifstream file(path, std::ios::binary);
    if (!file.is_open()) {
        return fail(sys::errno_error(
            fmt::format("dataflow_descriptor(): cannot open the dataflow file {}", path)));
    }
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) {
        return fail("dataflow_descriptor(): cannot read the dataflow file {}", path);
    }
    auto json = node_api::yaml_to_json(text.str());
    if (!json) {
        return fail(
            json.error().context(fmt::format("dataflow_descriptor(): the dataflow file {}", path)));
    }
    return std::move(*json);
}

std::map<std::string, uint64_t> NodeImpl::dropped_inputs() const {
    std::map<std::string, uint64_t> result;
    for (const auto& input : inputs_) {
        result[input.id] = input.ring.dropped();
    }
    return result;
}

namespace {

std::string notice_text(const std::string& input, uint32_t notice) {
    if (notice == static_cast<uint32_t>(shm::Notice::kProducerUnreachable)) {
        return fmt::format(
            "input {}: its producer runs on another machine that is unreachable (the link to it "
            "was lost): what it sends meanwhile is lost and counted as dropped; its data resumes "
            "if the link comes back, and the input closes if the machine is gone for good",
            input);
    }
    return fmt::format("input {}: notice {} from the daemon, unknown to this node's dora version",
                       input, notice);
}

}  // namespace

Event NodeImpl::make_input_event(InputState& input, const shm::Entry& entry) {
    Event event;
    event.id = input.id;
    if (entry.kind == shm::EntryKind::kNotice) {
        event.type = EventType::Error;
        event.error = notice_text(input.id, entry.segment);
        return event;
    }
    if (entry.kind != shm::EntryKind::kSample) {
        // Timer tick: an empty input stamped with the node's clock.
        event.type = EventType::Input;
        event.metadata.timestamp_ns = clock_.now().time_ns;
        event.metadata.arrow_format.assign(
            1, 'n');  // (= "n" trips a GCC 12 -Wrestrict false positive)
        return event;
    }
    auto error_event = [&](const Error& error) {
        Event e;
        e.type = EventType::Error;
        e.id = input.id;
        e.error = fmt::format("input {}: {}", input.id, error.message());
        return e;
    };
    auto view = cache_->view(entry);
    if (!view) {
        cache_->release(entry);
        return error_event(view.error());
    }
    auto metadata = message::decode(std::span(view->metadata, view->metadata_len));
    if (!metadata) {
        view->refcount->fetch_sub(1, std::memory_order_acq_rel);
        return error_event(metadata.error());
    }
    if (auto ok = message::check_layout(metadata->type_info, view->data_len); !ok) {
        view->refcount->fetch_sub(1, std::memory_order_acq_rel);
        return error_event(ok.error());
    }
    if (auto ok = clock_.update(metadata->timestamp); !ok && !clock_warning_given_) {
        // The input is still delivered (the data is fine, the sender's clock is not) and the
        // node's clock is not dragged along; the refusal is reported once on stderr, which the
        // daemon keeps in the node's log.
        clock_warning_given_ = true;
        std::fprintf(stderr, "dora: node %s, input %s: %s (reported once)\n",
                     config_.node_id.c_str(), input.id.c_str(), ok.error().message().c_str());
    }
    int64_t lease = region_->leases().add(entry.pack());
    event.type = EventType::Input;
    event.metadata.timestamp_ns = metadata->timestamp.time_ns;
    event.metadata.arrow_format = metadata->type_info.format;
    event.metadata.length = metadata->type_info.length;
    event.metadata.parameters =
        std::move(metadata->parameters);  // the holder needs only the layout
    const auto values = values_span(metadata->type_info, view->data, view->data_len);
    detail::NodeAccess::set_data(
        event, values,
        std::make_shared<ReceivedData>(region_, cache_, view->refcount, lease, std::move(*metadata),
                                       view->data, view->data_len));
    return event;
}

std::optional<Event> NodeImpl::timeout_event(InputState& input) {
    if (input.closed_reported) {
        return std::nullopt;
    }
    Event e;
    e.id = input.id;
    if (!input.timed_out_reported && input.ring.timed_out()) {
        // Closed by input_timeout: what was queued before is still delivered first.
        if (!input.ring.empty()) {
            return std::nullopt;
        }
        input.timed_out_reported = true;
        --open_inputs_;
        e.type = EventType::InputClosed;
        return e;
    }
    if (input.timed_out_reported && !input.ring.empty()) {
        input.timed_out_reported = false;
        input.ring.clear_timed_out();
        ++open_inputs_;
        e.type = EventType::InputRecovered;
        return e;
    }
    return std::nullopt;
}

void NodeImpl::interrupt() {
    interrupted_.store(true, std::memory_order_release);
    region_->signal().notify();
}

std::optional<Event> NodeImpl::next(std::optional<std::chrono::nanoseconds> timeout, bool spin) {
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (timeout) {
        deadline = std::chrono::steady_clock::now() + *timeout;
    }
    for (;;) {
        if (finished_) {
            return std::nullopt;
        }
        const uint32_t seen = region_->signal().current();
        if (region_->stop_reason() != shm::StopReason::kNone) {
            finished_ = true;
            Event e;
            e.type = EventType::Stop;
            e.stop_cause = StopCause::Requested;
            return e;
        }
        for (auto& input : inputs_) {
            if (auto e = timeout_event(input)) {
                return e;
            }
        }
        // The input whose oldest entry was sent first.
        InputState* best = nullptr;
        uint64_t best_time = 0;
        for (auto& input : inputs_) {
            if (input.closed_reported || input.timed_out_reported) {
                continue;
            }
            if (auto t = input.ring.peek_time(); t && (best == nullptr || *t < best_time)) {
                best = &input;
                best_time = *t;
            }
        }
        if (best != nullptr) {
            if (auto entry = best->ring.pop()) {
                return make_input_event(*best, *entry);
            }
            continue;
        }
        for (auto& input : inputs_) {
            if (!input.closed_reported && input.ring.closed() && input.ring.empty()) {
                input.closed_reported = true;
                if (input.timed_out_reported) {
                    continue;  // its INPUT_CLOSED was given at the timeout
                }
                --open_inputs_;
                Event e;
                e.type = EventType::InputClosed;
                e.id = input.id;
                return e;
            }
        }
        if (!inputs_.empty() && open_inputs_ == 0) {
            finished_ = true;
            Event e;
            e.type = EventType::Stop;
            e.stop_cause = StopCause::AllInputsClosed;
            return e;
        }
        if (interrupted_.exchange(false, std::memory_order_acq_rel)) {
            return std::nullopt;  // interrupt(): the caller has something else to look at
        }
        if (!region_->signal().wait(seen, deadline,
                                    spin ? spin_ : std::chrono::nanoseconds::zero())) {
            return std::nullopt;  // timeout
        }
    }
}

}  // namespace dora
