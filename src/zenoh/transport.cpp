#include "zenoh/transport.hpp"

#include <sys/epoll.h>

#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

constexpr size_t kMaxFrameHeader = 1 + kMaxZintBytes + 1 + kMaxZintBytes;
// Buffers above this are given back once the message they held is through.
constexpr size_t kKeepReassemblyCapacity = size_t{8} << 20;

size_t index(Reliability r) { return static_cast<size_t>(r); }

// Lower bound of a message's encoded size, to send big payloads straight to fragmentation.
size_t payload_hint(const NetworkMessage& m) {
    if (const auto* push = std::get_if<Push>(&m)) {
        if (const auto* put = std::get_if<Put>(&push->body)) {
            return put->payload.size();
        }
    }
    return 0;
}

std::string_view item_name(const BatchItem& item) {
    static constexpr std::string_view kNames[] = {"INIT",       "OPEN",  "CLOSE",
                                                  "KEEP_ALIVE", "FRAME", "network message",
                                                  "FRAGMENT",   "JOIN",  "OAM"};
    return kNames[item.index()];
}

}  // namespace

Transport::Transport(EventLoop& loop, TransportConfig config, TransportHandler& handler,
                     State state)
    : loop_(loop),
      config_(std::move(config)),
      handler_(handler),
      state_(state),
      batch_size_(config_.batch_size),
      resolution_(config_.resolution),
      lease_(config_.lease) {}

void Transport::log(std::string_view line) const {
    if (config_.log) {
        config_.log(line);
    } else {
        fmt::print(stderr, "{}\n", line);
    }
}

void Transport::warn(std::string_view line) const {
    if (config_.warn) {
        config_.warn(line);
    } else {
        log(line);
    }
}

Result<> Transport::send(const NetworkMessage& message, Reliability reliability) {
    if (state_ != State::kEstablished) {
        return fail("zenoh transport: cannot send, the transport is not established");
    }
    size_t max_body = batch_size_ - kLengthPrefix;
    if (payload_hint(message) + kMaxFrameHeader > max_body) {
        return send_fragmented(message, reliability);
    }
    auto& buf = writer_.buffer();
    for (int attempt = 0; attempt < 2; ++attempt) {
        writer_.open_batch();
        size_t mark = buf.size();
        uint64_t saved_sn = tx_sn_[index(reliability)];
        Writer w(buf);
        if (frame_open_ != reliability) {
            encode(w, FrameHeader{reliability == Reliability::kReliable, next_sn(reliability), {}});
        }
        encode(w, message);
        if (writer_.batch_body_size() <= max_body) {
            frame_open_ = reliability;
            break;
        }
        buf.resize(mark);
        tx_sn_[index(reliability)] = saved_sn;
        bool had_content = writer_.batch_body_size() > 0;
        writer_.close_batch();
        frame_open_.reset();
        if (!had_content || attempt == 1) {
            return send_fragmented(message, reliability);
        }
    }
    sent_since_tick_ = true;
    if (writer_.pending() >= config_.flush_threshold) {
        writer_.close_batch();
        frame_open_.reset();
        return write_now();
    }
    request_flush();
    return {};
}

Result<> Transport::send_fragmented(const NetworkMessage& message, Reliability reliability) {
    // The message is the encoded head in scratch_ followed by `tail`. A PUT's payload is the last
    // field of a PUSH, so it stays where the caller has it: fragments copy it once, into the
    // batches.
    scratch_.clear();
    Writer sw(scratch_);
    Bytes tail;
    const auto* push = std::get_if<Push>(&message);
    if (push != nullptr && std::holds_alternative<Put>(push->body)) {
        Push head = *push;
        auto& put = std::get<Put>(head.body);
        tail = put.payload;
        put.payload = {};
        encode(sw, head);
        scratch_.pop_back();  // the zero length of the empty payload
        sw.zint(tail.size());
    } else {
        encode(sw, message);
    }
    size_t total = scratch_.size() + tail.size();
    auto append = [&](std::vector<uint8_t>& out, size_t offset, size_t len) {
        if (offset < scratch_.size()) {
            size_t n = std::min(len, scratch_.size() - offset);
            out.insert(out.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(offset),
                       scratch_.begin() + static_cast<std::ptrdiff_t>(offset + n));
            offset += n;
            len -= n;
        }
        Bytes rest = tail.subspan(offset - scratch_.size(), len);
        out.insert(out.end(), rest.begin(), rest.end());
    };
    writer_.close_batch();
    frame_open_.reset();
    size_t max_body = batch_size_ - kLengthPrefix;
    // Room for every fragment at once: when the socket does not keep up, the queue takes the
    // whole message, and growing it by doubling would copy it and peak at 1.5x its size. Pages
    // the socket keeps up with are never touched, so this costs nothing then.
    const size_t fragments = total / (max_body - kMaxFrameHeader) + 1;
    writer_.buffer().reserve(writer_.buffer().size() + total +
                             fragments * (kLengthPrefix + kMaxFrameHeader));
    size_t offset = 0;
    while (offset < total) {
        Fragment f;
        f.reliable = reliability == Reliability::kReliable;
        f.sn = next_sn(reliability);
        f.first = offset == 0 && patch_ >= 1;
        size_t chunk = std::min(max_body - fragment_header_size(f), total - offset);
        f.more = offset + chunk < total;
        writer_.open_batch();
        Writer w(writer_.buffer());
        encode(w, f);  // header only: the payload span is empty
        append(writer_.buffer(), offset, chunk);
        writer_.close_batch();
        offset += chunk;
        if (writer_.pending() >= config_.flush_threshold) {
            DORA_ZCHECK(write_now(/*keep_capacity=*/true));
            if (state_ == State::kClosed) {
                return fail("zenoh transport closed while sending");
            }
        }
    }
    if (scratch_.capacity() > kKeepReassemblyCapacity) {
        // A large message that is not a PUT: not kept at its size (`scratch_ = {}` would keep
        // the capacity).
        scratch_ = std::vector<uint8_t>();
    }
    sent_since_tick_ = true;
    request_flush();
    return {};
}

template <typename Message>
Result<> Transport::send_control(const Message& m) {
    writer_.close_batch();
    frame_open_.reset();
    writer_.open_batch();
    Writer w(writer_.buffer());
    encode(w, m);
    writer_.close_batch();
    sent_since_tick_ = true;
    return write_now();
}

// The handshake (transport_handshake.cpp) sends these.
template Result<> Transport::send_control<Init>(const Init&);
template Result<> Transport::send_control<Open>(const Open&);

void Transport::request_flush() {
    // One request per iteration: send() is the per-message path, the Deferred's book-keeping is
    // not free.
    if (!flush_requested_) {
        flush_requested_ = true;
        flush_.request();
    }
}

Result<> Transport::write_now(bool keep_capacity) {
    auto done = writer_.write(io());
    if (!done) {
        shutdown(done.error().context("zenoh transport write"), std::nullopt);
        return fail(done.error());
    }
    want_write(!*done && writer_.pending() > 0);
    if (!keep_capacity) {
        writer_.release_if_drained();
    }
    return {};
}

void Transport::want_write(bool on) {
    if (on == writing_blocked_ || state_ == State::kClosed) {
        return;
    }
    writing_blocked_ = on;
    // epoll_ctl(MOD) on our own watched fd fails only once it is gone, i.e. while closing.
    (void)watch_.set_events((reading_paused_ ? 0u : EPOLLIN) | (on ? EPOLLOUT : 0u));
}

void Transport::set_reading(bool on) {
    if (on != reading_paused_ || state_ != State::kEstablished) {
        return;
    }
    reading_paused_ = !on;
    if (on) {
        last_rx_ = loop_.now();  // the peer was not silent: we did not listen
        resume_read_.request();
    }
    (void)watch_.set_events((on ? EPOLLIN : 0u) | (writing_blocked_ ? EPOLLOUT : 0u));
}

uint64_t Transport::next_sn(Reliability r) {
    uint64_t sn = tx_sn_[index(r)];
    tx_sn_[index(r)] = (sn + 1) & sn_mask_;
    return sn;
}

void Transport::flush() {
    flush_requested_ = false;
    if (state_ == State::kClosed) {
        return;
    }
    writer_.close_batch();
    frame_open_.reset();
    // write_now() shuts the transport down itself when writing fails.
    (void)write_now();
}

void Transport::close(uint8_t reason) {
    shutdown(Error::make("closed locally (reason {})", reason), reason);
}

void Transport::on_ready(uint32_t events) {
    if (tls_handshaking()) {
        tls_handshake_->step();
        return;
    }
    if (state_ == State::kConnecting) {
        auto connected = net::connect_result(fd());
        if (!connected) {
            shutdown(connected.error(), std::nullopt);
            return;
        }
        if (auto peer = net::peer_address(fd())) {
            peer_address_ = peer->to_string();
        }
        // epoll_ctl(MOD) on our own watched fd fails only once it is gone, i.e. while closing.
        (void)watch_.set_events(EPOLLIN);
        auto sent = config_.tls ? start_tls() : send_init_syn();
        if (!sent) {
            shutdown(sent.error(), std::nullopt);
        }
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        if (!write_now()) {
            return;
        }
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0 || state_ == State::kClosed) {
        return;
    }
    auto status = reader_.read(
        io(), [this](Bytes batch) { return on_batch(batch); }, [this] { return !reading_paused_; });
    if (state_ == State::kClosed) {
        return;
    }
    if (!status) {
        shutdown(closed_error(status.error()), std::nullopt);
    } else if (*status == BatchReader::Status::kEof) {
        shutdown(closed_error(Error("peer closed the connection (EOF)")), std::nullopt);
    } else if (state_ == State::kWaitInitSyn && peer_spoke_tls()) {
        // The CLOSE makes a TLS client's OpenSSL see a record that is no TLS.
        shutdown(Error::make("the peer at {} spoke TLS to a tcp/ locator: use tcp/ on its side, "
                             "or listen on tls/ here",
                             peer_address_),
                 kCloseInvalid);
    }
}

bool Transport::on_batch(Bytes batch) {
    last_rx_ = loop_.now();
    drop_frame_ = false;
    BatchDecoder decoder(batch);
    for (size_t guard = 0; guard <= batch.size(); ++guard) {
        auto item = decoder.next();
        if (!item) {
            shutdown(item.error().context("invalid batch from peer"), kCloseInvalid);
            return false;
        }
        if (!*item) {
            break;
        }
        auto handled = on_item(**item);
        if (!handled) {
            shutdown(handled.error(), kCloseInvalid);
            return false;
        }
        if (state_ == State::kClosed) {
            return false;
        }
    }
    return true;
}

Result<> Transport::on_item(BatchItem& item) {
    if (const auto* close = std::get_if<Close>(&item)) {
        shutdown(Error::make("peer sent CLOSE (reason {}, {})", close->reason,
                             close->session ? "session" : "link"),
                 std::nullopt);
        return {};
    }
    if (std::holds_alternative<KeepAlive>(item)) {
        return {};
    }
    if (state_ != State::kEstablished) {
        if (const auto* init = std::get_if<Init>(&item)) {
            return on_init(*init);
        }
        if (const auto* open = std::get_if<Open>(&item)) {
            return on_open(*open);
        }
        return fail("unexpected {} during the handshake", item_name(item));
    }
    if (const auto* frame = std::get_if<FrameHeader>(&item)) {
        Reliability r = frame->reliable ? Reliability::kReliable : Reliability::kBestEffort;
        drop_frame_ = !sn_forward(r, frame->sn);
        if (drop_frame_) {
            log(fmt::format("zenoh transport: dropped FRAME with out-of-order sn {}", frame->sn));
        }
        return {};
    }
    if (const auto* framed = std::get_if<FramedNetwork>(&item)) {
        if (!drop_frame_) {
            handler_.on_message(
                *this, framed->message,
                framed->frame.reliable ? Reliability::kReliable : Reliability::kBestEffort,
                framed->raw);
        }
        return {};
    }
    if (const auto* fragment = std::get_if<Fragment>(&item)) {
        return on_fragment(*fragment);
    }
    if (std::holds_alternative<Init>(item) || std::holds_alternative<Open>(item)) {
        return fail("unexpected {} on an established transport", item_name(item));
    }
    return {};  // JOIN and OAM: nothing to do on a unicast link
}

bool Transport::sn_forward(Reliability r, uint64_t sn) {
    uint64_t& last = rx_last_[index(r)];
    uint64_t distance = (sn - last) & sn_mask_;
    if (sn > sn_mask_ || distance == 0 || distance > sn_mask_ / 2) {
        return false;
    }
    last = sn;
    return true;
}

Result<> Transport::on_fragment(const Fragment& f) {
    Reliability r = f.reliable ? Reliability::kReliable : Reliability::kBestEffort;
    // zenoh-pico marks reliable fragments best effort but numbers them on the reliable
    // channel (docs/zenoh-protocol.md section 9.2): on TCP, fragments are never dropped for their
    // SN.
    (void)sn_forward(r, f.sn);
    Reassembly& ra = reassembly_[index(r)];
    if (f.first) {
        ra.buf.clear(kKeepReassemblyCapacity);
        ra.dropping = false;
    }
    if (ra.dropping) {
        ra.dropping = f.more;
        return {};
    }
    // Both channels together: a link holds at most one limit's worth of partial messages.
    const size_t held = reassembly_[0].buf.size() + reassembly_[1].buf.size();
    if (held + f.payload.size() > config_.max_message_size) {
        drop_reassembly(ra, f.more,
                        fmt::format("over the {} byte limit ({} in ZENOH_CONFIG) of what a link "
                                    "reassembles at once",
                                    config_.max_message_size, kMaxMessageSizeKey));
        return {};
    }
    if (auto added = ra.buf.append(f.payload); !added) {
        drop_reassembly(ra, f.more, fmt::format("({})", added.error().message()));
        return {};
    }
    if (f.more) {
        return {};
    }
    Reader reader(ra.buf.bytes());
    auto message = decode_network(reader);
    if (!message) {
        return fail(message.error().context("reassembled fragments"));
    }
    if (!reader.empty()) {
        return fail("reassembled fragments: {} bytes after the message", reader.remaining());
    }
    handler_.on_message(*this, *message, r, ra.buf.bytes());
    ra.buf.clear(kKeepReassemblyCapacity);
    return {};
}

void Transport::drop_reassembly(Reassembly& ra, bool more, std::string_view why) {
    if (dropped_messages_++ == 0) {
        warn(
            fmt::format("zenoh transport: dropped a fragmented message from {} {} (further drops "
                        "on this link are counted, not logged)",
                        peer_address_.empty() ? peer_zid_.to_string() : peer_address_, why));
    }
    ra.buf.release();
    ra.dropping = more;
}

void Transport::on_tick() {
    if (state_ != State::kEstablished) {
        return;
    }
    auto now = loop_.now();
    if (reading_paused_) {
        last_rx_ = now;
    } else if (now - last_rx_ > lease_) {
        shutdown(Error::make(
                     "lease expired: nothing received for {} ms",
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - last_rx_).count()),
                 kCloseExpired);
        return;
    }
    if (!sent_since_tick_) {
        if (!send_control(KeepAlive{})) {
            return;
        }
    }
    sent_since_tick_ = false;
}

void Transport::shutdown(Error why, std::optional<uint8_t> reason) {
    if (state_ == State::kClosed) {
        return;
    }
    if (reason && state_ != State::kConnecting && !tls_handshaking()) {
        writer_.close_batch();
        writer_.open_batch();
        Writer w(writer_.buffer());
        encode(w, Close{*reason, true});
        writer_.close_batch();
        // Best effort: the link is closed either way; the peer then sees EOF instead of CLOSE.
        (void)writer_.write(io());
    }
    if (tls_ && !tls_handshaking()) {
        tls_->shutdown();
    }
    const bool accepting = state_ == State::kWaitInitSyn || state_ == State::kWaitOpenSyn;
    state_ = State::kClosed;
    discard_input();
    watch_.reset();
    tick_timer_.cancel();
    handshake_timer_.cancel();
    flush_.reset();
    resume_read_.reset();
    log_closed(why, accepting);
    handler_.on_closed(*this, why);
}

void Transport::log_closed(const Error& why, bool accepting) const {
    const std::string dropped =
        dropped_messages_ > 1
            ? fmt::format(" ({} fragmented messages dropped for the limit)", dropped_messages_)
            : "";
    if (!accepting) {
        log(fmt::format("zenoh transport with {} closed: {}{}",
                        peer_zid_.empty() ? std::string("(handshake)") : peer_zid_.to_string(),
                        why.message(), dropped));
        return;
    }
    // A stranger that connected and did not finish the handshake: any number of them may come.
    thread_local LogThrottle throttle;
    if (auto held = throttle.admit(SteadyClock::now())) {
        log(
            fmt::format("zenoh transport: link from {} closed during the handshake: {} ({} more "
                        "such link(s) since the last report)",
                        // Our own reason (a TLS one names both certificates): a long budget.
                        peer_address_, escape_for_log(why.message(), 1024), *held));
    }
}

}  // namespace dora::zenoh
