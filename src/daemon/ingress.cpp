#include "daemon/ingress.hpp"

#include <cstring>

namespace dora::daemon {

namespace {
constexpr auto kReportInterval = std::chrono::seconds(1);
}  // namespace

Ingress::Ingress(LocalDataflow& dataflow, Note note)
    : dataflow_(dataflow),
      note_(std::move(note)),
      pool_(dataflow.plan().pool_prefix(kIngressSender), kIngressSender, 0) {}

Result<std::unique_ptr<Ingress>> Ingress::start(EventLoop& loop, zenoh::Session& session,
                                                LocalDataflow& dataflow, Note note) {
    const auto& plan = dataflow.plan();
    if (plan.ingress.empty()) {
        return fail("dataflow {} receives nothing from other machines", dataflow.id());
    }
    std::unique_ptr<Ingress> ingress(new Ingress(dataflow, std::move(note)));
    for (const auto& planned : plan.ingress) {
        auto stream = std::make_unique<Stream>();
        stream->plan = &planned;
        Stream* s = stream.get();
        Ingress* self = ingress.get();
        auto subscription = session.declare_subscriber(
            planned.key, [self, s](const zenoh::Sample& sample) { self->deliver(*s, sample.put); });
        if (!subscription) {
            return fail(subscription.error().context(fmt::format(
                "subscribing to {} (from machine of node {})", planned.key, planned.node)));
        }
        stream->subscription = std::move(*subscription);
        ingress->streams_.push_back(std::move(stream));
    }
    Ingress* self = ingress.get();
    ingress->report_ = loop.add_periodic(kReportInterval, [self] {
        self->report_drops();
        // A large arrival's memory goes back once its receivers released it.
        (void)self->pool_.free_idle(shm::kIdleReleaseMinSize);
    });
    return ingress;
}

Ingress::~Ingress() {
    streams_.clear();  // undeclare first: no arrival may use the pool below
    pool_.unlink_all();
}

void Ingress::deliver(Stream& stream, const zenoh::Put& put) {
    if (put.attachment && put.attachment->size() == 1 &&
        (*put.attachment)[0] == kEndOfStreamMarker) {
        close(stream);
        return;
    }
    std::span<const uint8_t> meta = put.attachment ? *put.attachment : std::span<const uint8_t>();
    const auto& receivers = stream.plan->receivers;
    auto sample = pool_.allocate(put.payload.size(), meta.size());
    if (!sample) {
        ++stream.dropped;
        stream.last_error = sample.error().message();
        return;
    }
    if (!put.payload.empty()) {
        std::memcpy(sample->data().data(), put.payload.data(), put.payload.size());
    }
    auto entry = pool_.publish(std::move(*sample), std::as_bytes(meta),
                               static_cast<uint32_t>(receivers.size()), shm::send_time_ns());
    if (!entry) {
        ++stream.dropped;
        stream.last_error = entry.error().message();
        return;
    }
    for (const RingRef& ref : receivers) {
        shm::Region& region = dataflow_.region(ref.node);
        // A full ring drops its oldest entry and counts it (the receiver's queue drops).
        if (auto dropped = region.ring(ref.ring).push(*entry)) {
            pool_.release(*dropped);
        }
        region.signal().notify();
    }
}

void Ingress::close(const Stream& stream) {
    for (const RingRef& ref : stream.plan->receivers) {
        shm::Region& region = dataflow_.region(ref.node);
        region.ring(ref.ring).close();
        region.signal().notify();
    }
}

uint64_t Ingress::dropped() const {
    uint64_t total = 0;
    for (const auto& stream : streams_) {
        total += stream->dropped;
    }
    return total;
}

void Ingress::add_drops(std::vector<message::DropCount>& drops,
                        const std::string& machine_id) const {
    const auto& plan = dataflow_.plan();
    for (const auto& stream : streams_) {
        for (const RingRef& ref : stream->plan->receivers) {
            const PlannedNode& node = plan.nodes[ref.node];
            message::add_drop(drops, {message::kDropIngress, machine_id, node.descriptor->id,
                                      node.inputs[ref.ring].id, stream->dropped});
        }
    }
}

void Ingress::report_drops() {
    const auto& plan = dataflow_.plan();
    for (auto& stream : streams_) {
        if (stream->dropped == stream->reported) {
            continue;
        }
        stream->reported = stream->dropped;
        for (const RingRef& ref : stream->plan->receivers) {
            const PlannedNode& node = plan.nodes[ref.node];
            note_(node.descriptor->id,
                  fmt::format("input {} of node {}: {} message(s) dropped at ingress so far (from "
                              "{}/{} on another machine): this daemon could not store them ({}); "
                              "consume faster, release inputs sooner or free shared memory",
                              node.inputs[ref.ring].id, node.descriptor->id, stream->dropped,
                              stream->plan->node, stream->plan->output, stream->last_error));
        }
    }
}

}  // namespace dora::daemon
