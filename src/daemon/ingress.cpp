#include "daemon/ingress.hpp"

#include <cstring>

#include "core/log_text.hpp"
#include "message/data_keys.hpp"
#include "message/metadata.hpp"

namespace dora::daemon {

namespace {
constexpr auto kReportInterval = std::chrono::seconds(1);
// How often held arrivals look for room in their receivers' rings (a consumer's take is not
// announced to the daemon).
constexpr auto kHeldRetry = std::chrono::microseconds(200);
}  // namespace

Ingress::Ingress(EventLoop& loop, zenoh::Session& session, LocalDataflow& dataflow, Note note)
    : loop_(loop),
      session_(session),
      dataflow_(dataflow),
      note_(std::move(note)),
      pool_(dataflow.plan().pool_prefix(kIngressSender), kIngressSender, 0) {}

Result<std::unique_ptr<Ingress>> Ingress::start(EventLoop& loop, zenoh::Session& session,
                                                LocalDataflow& dataflow, Note note) {
    const auto& plan = dataflow.plan();
    if (plan.ingress.empty()) {
        return fail("dataflow {} receives nothing from other machines", dataflow.id());
    }
    std::unique_ptr<Ingress> ingress(new Ingress(loop, session, dataflow, std::move(note)));
    for (const auto& planned : plan.ingress) {
        ingress->producers_.try_emplace(planned.node);
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
    // With history: producers already alive are reported at once; none counts as lost before
    // its token was seen.
    auto liveliness = session.declare_liveliness_subscriber(
        plan.liveliness_prefix + "/*",
        [self](std::string_view key, bool alive) { self->on_token(key, alive); }, true);
    if (!liveliness) {
        return fail(liveliness.error().context(fmt::format(
            "watching the liveliness of dataflow {}'s remote producers", dataflow.id())));
    }
    ingress->liveliness_ = std::move(*liveliness);
    ingress->report_ = loop.add_periodic(kReportInterval, [self] {
        self->report_drops();
        // A large arrival's memory goes back once its receivers released it.
        (void)self->pool_.free_idle(shm::kIdleReleaseMinSize);
    });
    return ingress;
}

Ingress::~Ingress() {
    liveliness_ = zenoh::Subscription();
    streams_.clear();  // undeclare first: no arrival may use the pool below
    if (holding_) {
        session_.release_reading();
    }
    pool_.unlink_all();
}

std::string Ingress::refusal(const Stream& stream, const zenoh::Put& put, bool& ends) {
    ends = false;
    const std::span<const uint8_t> attachment =
        put.attachment ? *put.attachment : std::span<const uint8_t>();
    if (!attachment.empty() && attachment[0] == kEndOfStreamMarker) {
        if (!stream.plan->end_verifier.verify(stream.plan->key, attachment)) {
            return fmt::format(
                "it claimed to end the stream without the signature of the producer's daemon (it "
                "did not come from the daemon that runs node `{}`)",
                stream.plan->node);
        }
        ends = true;
        return {};
    }
    auto metadata = message::decode(std::as_bytes(attachment));
    if (!metadata) {
        return "its metadata does not decode: " + metadata.error().message();
    }
    if (auto fits = message::check_layout(metadata->type_info, put.payload.size()); !fits) {
        return "its metadata does not fit its payload: " + fits.error().message();
    }
    return {};
}

void Ingress::deliver(Stream& stream, const zenoh::Put& put) {
    bool ends = false;
    if (auto why = refusal(stream, put, ends); !why.empty()) {
        if (stream.rejected++ == 0) {
            stream.rejected_why = escape_for_log(why);  // may quote what the sender chose
        }
        return;
    }
    stream.lost += stream.gaps.observe(put.source_info);
    if (ends) {
        close(stream);
        return;
    }
    if (stream.closed) {
        // Closed for good (close_from: its machine was declared gone) and yet it came back: the
        // receivers have had INPUT_CLOSED, so this is lost, and counted.
        ++stream.dropped;
        stream.last_error = "the input was closed when the producer's machine was declared gone";
        return;
    }
    std::span<const uint8_t> meta = put.attachment ? *put.attachment : std::span<const uint8_t>();
    if (!stream.held.empty() || !room_for(stream)) {
        stream.held.push_back(
            {{put.payload.begin(), put.payload.end()}, {meta.begin(), meta.end()}});
        hold();
        return;
    }
    store(stream, put.payload, meta);
}

void Ingress::store(Stream& stream, std::span<const uint8_t> payload,
                    std::span<const uint8_t> meta) {
    const auto& receivers = stream.plan->receivers;
    auto sample = pool_.allocate(payload.size(), meta.size());
    if (!sample) {
        ++stream.dropped;
        stream.last_error = sample.error().message();
        return;
    }
    if (!payload.empty()) {
        std::memcpy(sample->data().data(), payload.data(), payload.size());
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
        // A full ring drops its oldest entry and counts it (the receiver's queue drops); a
        // backpressure ring has room here (room_for), or its consumer is gone.
        if (auto dropped = region.ring(ref.ring).push(*entry)) {
            pool_.release(*dropped);
        }
        region.signal().notify();
    }
}

bool Ingress::room_for(const Stream& stream) const {
    for (const RingRef& ref : stream.plan->receivers) {
        shm::Ring ring = dataflow_.region(ref.node).ring(ref.ring);
        if (ring.backpressure() && !ring.consumer_gone() && ring.queued() >= ring.capacity()) {
            return false;
        }
    }
    return true;
}

void Ingress::hold() {
    if (holding_) {
        return;
    }
    holding_ = true;
    session_.hold_reading();
    held_retry_ = loop_.add_periodic(kHeldRetry, [this] { deliver_held(); });
}

void Ingress::deliver_held() {
    bool waiting = false;
    for (auto& stream : streams_) {
        while (!stream->held.empty() && room_for(*stream)) {
            const auto& front = stream->held.front();
            store(*stream, front.payload, front.metadata);
            stream->held.pop_front();
        }
        if (stream->held.empty() && stream->close_when_delivered) {
            stream->close_when_delivered = false;
            close_rings(*stream);
        }
        waiting = waiting || !stream->held.empty();
    }
    if (!waiting && holding_) {
        holding_ = false;
        held_retry_.cancel();
        session_.release_reading();
    }
}

void Ingress::close(Stream& stream) {
    stream.closed = true;
    if (!stream.held.empty()) {
        stream.close_when_delivered = true;  // after what waits (deliver_held)
        return;
    }
    close_rings(stream);
}

void Ingress::close_rings(Stream& stream) {
    for (const RingRef& ref : stream.plan->receivers) {
        shm::Region& region = dataflow_.region(ref.node);
        region.ring(ref.ring).close();
        region.signal().notify();
    }
}

template <typename F>
void Ingress::for_receivers(const std::string& producer, F&& f) {
    const auto& plan = dataflow_.plan();
    for (auto& stream : streams_) {
        if (stream->closed || stream->plan->node != producer) {
            continue;
        }
        for (const RingRef& ref : stream->plan->receivers) {
            const PlannedNode& node = plan.nodes[ref.node];
            f(*stream, ref, node.descriptor->id, node.inputs[ref.ring].id);
        }
    }
}

void Ingress::on_token(std::string_view key, bool alive) {
    const std::string_view prefix = dataflow_.plan().liveliness_prefix;
    if (key.size() <= prefix.size() + 1 || key.substr(0, prefix.size()) != prefix) {
        return;
    }
    std::string producer(key.substr(prefix.size() + 1));
    if (!producers_.count(producer)) {
        return;  // a producer none of our nodes consumes
    }
    if (alive) {
        producer_back(producer);
    } else {
        producer_lost(producer);
    }
}

void Ingress::producer_lost(const std::string& producer) {
    Producer& state = producers_[producer];
    if (state.unreachable) {
        return;
    }
    bool open = false;
    for_receivers(producer, [&](Stream& stream, const RingRef& ref, const std::string& node,
                                const std::string& input) {
        open = true;
        shm::Entry notice;
        notice.kind = shm::EntryKind::kNotice;
        notice.segment = static_cast<uint32_t>(shm::Notice::kProducerUnreachable);
        notice.time_ns = shm::send_time_ns();
        shm::Region& region = dataflow_.region(ref.node);
        shm::Ring ring = region.ring(ref.ring);
        if (ring.backpressure()) {
            // Never at the cost of a message: a full queue gets no notice (the log says it).
            (void)ring.try_push(notice);
        } else if (auto dropped = ring.push(notice)) {
            pool_.release(*dropped);  // a full queue drops its oldest, counted as ever
        }
        region.signal().notify();
        note_(node, fmt::format("input {} of node {}: producer {} (output {}) is unreachable: the "
                                "link to its machine was lost; what it sends meanwhile is lost",
                                input, node, producer, stream.plan->output));
    });
    if (open) {
        state.unreachable = true;
        state.since = loop_.now();
    }
}

void Ingress::producer_back(const std::string& producer) {
    Producer& state = producers_[producer];
    if (!state.unreachable) {
        return;
    }
    state.unreachable = false;
    const double seconds = std::chrono::duration<double>(loop_.now() - state.since).count();
    for_receivers(producer, [&](Stream& stream, const RingRef&, const std::string& node,
                                const std::string& input) {
        note_(node, fmt::format("input {} of node {}: producer {} (output {}) is reachable again "
                                "after {:.1f} s",
                                input, node, producer, stream.plan->output, seconds));
    });
}

void Ingress::close_from(const std::string& producer, const std::string& reason) {
    if (!producers_.count(producer)) {
        return;
    }
    for_receivers(producer, [&](Stream& stream, const RingRef&, const std::string& node,
                                const std::string& input) {
        note_(node, fmt::format("input {} of node {}: closed: producer {} is gone ({})", input,
                                node, producer, reason));
        (void)stream;
    });
    for (auto& stream : streams_) {
        if (!stream->closed && stream->plan->node == producer) {
            close(*stream);
        }
    }
    producers_[producer].unreachable = false;
}

bool Ingress::unreachable(const std::string& producer) const {
    auto it = producers_.find(producer);
    return it != producers_.end() && it->second.unreachable;
}

uint64_t Ingress::dropped() const {
    uint64_t total = 0;
    for (const auto& stream : streams_) {
        total += stream->dropped;
    }
    return total;
}

uint64_t Ingress::lost_in_transit() const {
    uint64_t total = 0;
    for (const auto& stream : streams_) {
        total += stream->lost;
    }
    return total;
}

void Ingress::add_drops(std::vector<message::DropCount>& drops,
                        const std::string& machine_id) const {
    const auto& plan = dataflow_.plan();
    for (const auto& stream : streams_) {
        message::add_drop(drops, {message::kDropLink, machine_id, stream->plan->node,
                                  stream->plan->output, stream->lost});
        for (const RingRef& ref : stream->plan->receivers) {
            const PlannedNode& node = plan.nodes[ref.node];
            message::add_drop(drops, {message::kDropIngress, machine_id, node.descriptor->id,
                                      node.inputs[ref.ring].id, stream->dropped});
        }
    }
}

void Ingress::note_receivers(
    const Stream& stream,
    const std::function<std::string(const std::string&, const std::string&)>& text) {
    const auto& plan = dataflow_.plan();
    for (const RingRef& ref : stream.plan->receivers) {
        const PlannedNode& node = plan.nodes[ref.node];
        note_(node.descriptor->id, text(node.descriptor->id, node.inputs[ref.ring].id));
    }
}

void Ingress::report_drops() {
    for (auto& stream : streams_) {
        const IngressStream& from = *stream->plan;
        if (stream->lost != stream->reported_lost) {
            stream->reported_lost = stream->lost;
            note_receivers(*stream, [&](const std::string& node, const std::string& input) {
                return fmt::format(
                    "input {} of node {}: {} message(s) from {}/{} on another machine lost on the "
                    "link so far: its daemon sent them and they never arrived (the link went down "
                    "with them in flight); check the network between the machines",
                    input, node, stream->lost, from.node, from.output);
            });
        }
        if (stream->rejected != stream->reported_rejected) {
            const bool first = stream->reported_rejected == 0;
            stream->reported_rejected = stream->rejected;
            note_receivers(*stream, [&](const std::string& node, const std::string& input) {
                return fmt::format(
                    "input {} of node {}: {} message(s) on {} refused so far, not given to the "
                    "node{}{}; something other than the daemon of {} publishes on this dataflow's "
                    "keys: find it (only the cluster's daemons should reach them)",
                    input, node, stream->rejected, from.key, first ? ": the first because " : "",
                    first ? stream->rejected_why : std::string(), from.node);
            });
        }
        if (stream->dropped != stream->reported) {
            stream->reported = stream->dropped;
            note_receivers(*stream, [&](const std::string& node, const std::string& input) {
                return fmt::format(
                    "input {} of node {}: {} message(s) dropped at ingress so far (from {}/{} on "
                    "another machine): this daemon could not store them ({}); consume faster, "
                    "release inputs sooner or free shared memory",
                    input, node, stream->dropped, from.node, from.output, stream->last_error);
            });
        }
    }
}

}  // namespace dora::daemon
