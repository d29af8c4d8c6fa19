// Transport set-up: connect/accept, the INIT/OPEN handshake and what it negotiates.
#include <sys/epoll.h>

#include <random>

#include "zenoh/transport.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

// Smallest batch we accept: below it a fragment header would leave no room for data.
constexpr uint16_t kMinBatchSize = 64;
constexpr std::chrono::milliseconds kMinLease{10};

// Per-field minimum of two resolution bytes (bits 1-0 frame SN, bits 3-2 request id).
uint8_t min_resolution(uint8_t a, uint8_t b) {
    uint8_t out = 0;
    for (int shift = 0; shift < 8; shift += 2) {
        uint8_t fa = static_cast<uint8_t>((a >> shift) & 3);
        uint8_t fb = static_cast<uint8_t>((b >> shift) & 3);
        out = static_cast<uint8_t>(out | (std::min(fa, fb) << shift));
    }
    return out;
}

bool resolution_exceeds(uint8_t offered, uint8_t own) {
    return min_resolution(offered, own) != offered;
}

uint64_t random_u64() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) | rd();
}

}  // namespace

Result<std::unique_ptr<Transport>> Transport::connect(EventLoop& loop, const Endpoint& endpoint,
                                                      TransportConfig config,
                                                      TransportHandler& handler) {
    if ((endpoint.protocol == "tls") != (config.tls != nullptr)) {
        return fail("connect {}: {} endpoint needs {} TLS context", endpoint.to_string(),
                    endpoint.protocol, config.tls ? "no" : "a client");
    }
    DORA_ZTRY(fd, tcp_connect_start(endpoint));
    std::unique_ptr<Transport> t(
        new Transport(loop, std::move(config), handler, State::kConnecting));
    t->tls_host_ = endpoint.host;
    t->peer_address_ = net::join_host_port(endpoint.host, endpoint.port);  // until connected
    DORA_ZCHECK(t->start(std::move(fd)));
    return t;
}

Result<std::unique_ptr<Transport>> Transport::accept(EventLoop& loop, sys::UniqueFd fd,
                                                     TransportConfig config,
                                                     TransportHandler& handler) {
    std::unique_ptr<Transport> t(
        new Transport(loop, std::move(config), handler, State::kWaitInitSyn));
    if (auto peer = net::peer_address(fd.get())) {
        t->peer_address_ = peer->to_string();
    }
    DORA_ZCHECK(t->start(std::move(fd)));
    return t;
}

Result<> Transport::start(sys::UniqueFd fd) {
    if (config_.batch_size < kMinBatchSize) {
        return fail("zenoh transport: batch size {} is below {}", config_.batch_size,
                    kMinBatchSize);
    }
    uint32_t events = state_ == State::kConnecting ? EPOLLOUT : EPOLLIN;
    DORA_ZTRY(watch,
              loop_.watch(std::move(fd), events, [this](uint32_t ready) { on_ready(ready); }));
    watch_ = std::move(watch);
    flush_ = loop_.defer([this] { flush(); });
    resume_read_ = loop_.defer([this] {
        if (!reading_paused_ && state_ != State::kClosed) {
            on_ready(EPOLLIN);
        }
    });
    handshake_timer_ = loop_.add_timer(config_.handshake_timeout, [this] {
        if (state_ != State::kEstablished) {
            shutdown(handshake_timeout_error(), std::nullopt);
        }
    });
    if (config_.tls && state_ == State::kWaitInitSyn) {
        return start_tls();
    }
    return {};
}

Result<> Transport::send_init_syn() {
    Init syn;
    syn.whatami = config_.whatami;
    syn.zid = config_.zid;
    syn.resolution = config_.resolution;
    syn.batch_size = config_.batch_size;
    syn.patch = 1;
    state_ = State::kWaitInitAck;
    return send_control(syn);
}

Result<> Transport::on_init(const Init& init) {
    if (init.version != kProtocolVersion) {
        return fail("peer speaks zenoh protocol version 0x{:02x}, we speak 0x{:02x}", init.version,
                    kProtocolVersion);
    }
    if (init.batch_size < kMinBatchSize) {
        return fail("peer batch size {} is below {}", init.batch_size, kMinBatchSize);
    }
    peer_zid_ = init.zid;
    peer_whatami_ = init.whatami;
    patch_ = init.patch ? std::min<uint64_t>(1, *init.patch) : 0;
    if (state_ == State::kWaitInitSyn && !init.ack) {
        batch_size_ = std::min(config_.batch_size, init.batch_size);
        resolution_ = min_resolution(config_.resolution, init.resolution);
        cookie_.resize(16);
        uint64_t a = random_u64();
        uint64_t b = random_u64();
        for (size_t i = 0; i < 8; ++i) {
            cookie_[i] = static_cast<uint8_t>(a >> (8 * i));
            cookie_[8 + i] = static_cast<uint8_t>(b >> (8 * i));
        }
        Init ack;
        ack.ack = true;
        ack.whatami = config_.whatami;
        ack.zid = config_.zid;
        ack.resolution = resolution_;
        ack.batch_size = batch_size_;
        ack.cookie = cookie_;
        if (init.patch) {
            ack.patch = patch_;
        }
        state_ = State::kWaitOpenSyn;
        return send_control(ack);
    }
    if (state_ == State::kWaitInitAck && init.ack) {
        if (init.batch_size > config_.batch_size) {
            return fail("INIT ack batch size {} exceeds ours ({})", init.batch_size,
                        config_.batch_size);
        }
        if (resolution_exceeds(init.resolution, config_.resolution)) {
            return fail("INIT ack resolution 0x{:02x} exceeds ours (0x{:02x})", init.resolution,
                        config_.resolution);
        }
        batch_size_ = init.batch_size;
        resolution_ = init.resolution;
        cookie_.assign(init.cookie.begin(), init.cookie.end());
        sn_mask_ = sn_mask(resolution_);
        tx_sn_[0] = tx_sn_[1] = random_u64() & sn_mask_;
        Open syn;
        syn.lease_ms = static_cast<uint64_t>(config_.lease.count());
        syn.initial_sn = tx_sn_[0];
        syn.cookie = cookie_;
        state_ = State::kWaitOpenAck;
        return send_control(syn);
    }
    return fail("unexpected INIT ({}) in handshake state {}", init.ack ? "ack" : "syn",
                static_cast<int>(state_));
}

Result<> Transport::on_open(const Open& open) {
    auto peer_lease = std::chrono::milliseconds(open.lease_ms);
    if (peer_lease < kMinLease) {
        return fail("peer lease {} ms is below {} ms", open.lease_ms, kMinLease.count());
    }
    lease_ = std::min(config_.lease, peer_lease);
    if (state_ == State::kWaitOpenSyn && !open.ack) {
        if (!std::equal(open.cookie.begin(), open.cookie.end(), cookie_.begin(), cookie_.end())) {
            return fail("OPEN cookie does not match the one we sent");
        }
        sn_mask_ = sn_mask(resolution_);
        rx_last_[0] = rx_last_[1] = (open.initial_sn - 1) & sn_mask_;
        tx_sn_[0] = tx_sn_[1] = random_u64() & sn_mask_;
        Open ack;
        ack.ack = true;
        ack.lease_ms = static_cast<uint64_t>(config_.lease.count());
        ack.initial_sn = tx_sn_[0];
        DORA_ZCHECK(send_control(ack));
        established();
        return {};
    }
    if (state_ == State::kWaitOpenAck && open.ack) {
        rx_last_[0] = rx_last_[1] = (open.initial_sn - 1) & sn_mask_;
        established();
        return {};
    }
    return fail("unexpected OPEN ({}) in handshake state {}", open.ack ? "ack" : "syn",
                static_cast<int>(state_));
}

void Transport::established() {
    state_ = State::kEstablished;
    handshake_timer_.cancel();
    reader_.allow_large_reads();
    last_rx_ = loop_.now();
    auto interval = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1),
                                                        lease_ / std::max(1u, config_.keep_alive));
    tick_timer_ = loop_.add_periodic(interval, [this] { on_tick(); });
    handler_.on_established(*this);
}

}  // namespace dora::zenoh
