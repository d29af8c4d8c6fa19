// Zenoh unicast transport over one TCP link, or one TLS link (tls/ endpoints: the TLS handshake
// comes first, then everything below runs inside TLS; transport_tls.cpp) (docs/zenoh-protocol.md
// section 3): the INIT/OPEN
// handshake with cookie as initiator or acceptor, batch size and SN resolution negotiation,
// lease and keep-alive, FRAME batching with sequence numbers, FRAGMENT send and reassembly with a
// size limit (ZenohConfig::max_message_size; reassembly.hpp says what it holds), CLOSE and plain
// EOF.
//
// What a peer can make a link hold: during the handshake (before OPEN completes) only INIT, OPEN,
// CLOSE and KEEP_ALIVE are accepted (anything else closes the link: no fragment buffers, no
// network messages), the read buffer is one batch, and handshake_timeout closes a link that does
// not finish. Once established, the messages being reassembled on both channels together stay
// within max_message_size; a message that would pass it is dropped, the first drop of a link
// logged, the others counted (dropped_messages()). Links an acceptor closes during the handshake
// are logged at most once per second per thread (a flood of connections cannot flood the log).
//
// Sending: send() encodes the message straight into the open batch (no per-message allocation);
// the batches go out in one send() at the end of the event loop iteration (a Deferred), or as
// soon as `flush_threshold` bytes are queued. A message larger than a batch is encoded once into
// a reused scratch buffer and cut into FRAGMENTs.
//
// Time: lease and keep-alive read the loop's clock (EventLoop::now()), so tests can drive them
// with a ManualClock.
//
// Threading contract: a Transport belongs to one EventLoop; every method is called on the loop
// thread, and handler callbacks run there. Never destroy a Transport from inside one of its own
// callbacks (its receive buffers are in use): let the loop do it later, e.g. from a Deferred.
// on_closed is called exactly once (not when the owner destroys an open transport).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/sys.hpp"
#include "tls/handshake.hpp"
#include "zenoh/config.hpp"
#include "zenoh/reassembly.hpp"
#include "zenoh/tcp_link.hpp"
#include "zenoh/transport_msg.hpp"

namespace dora::zenoh {

enum class Reliability : uint8_t { kReliable = 0, kBestEffort = 1 };

struct TransportConfig {
    WhatAmI whatami = WhatAmI::kPeer;
    Zid zid = Zid::random();
    uint16_t batch_size = kDefaultBatchSize;  // includes the 2-byte length prefix
    uint8_t resolution = kDefaultResolution;
    std::chrono::milliseconds lease{10000};
    unsigned keep_alive = 4;  // keep-alives per lease when idle
    // Fragment reassembly limit (whole network message); sessions take it from ZenohConfig.
    size_t max_message_size = kDefaultMaxMessageSize;
    std::chrono::milliseconds handshake_timeout{10000};
    size_t flush_threshold = size_t{256} << 10;
    // Receives one line per notable event (closing reasons, dropped frames). Default: stderr.
    std::function<void(std::string_view)> log;
    // Receives the lines about limits a peer hit (a dropped fragmented message, refused links and
    // declarations, accept errors), which a quiet process still shows. Default: `log`.
    std::function<void(std::string_view)> warn;
    // Set: the link runs TLS with this context (a server context for accepted links, a client
    // one for tls/ endpoints); the session sets it per link. Null: plain TCP.
    std::shared_ptr<const tls::TlsContext> tls;
    // tls/ links: closed (CLOSE reason "expired") when the peer's certificate expires
    // (transport.link.tls.close_link_on_expiration); otherwise they outlive it.
    bool close_on_peer_expiration = false;
};

class Transport;

class TransportHandler {
  public:
    virtual ~TransportHandler() = default;
    virtual void on_established(Transport& /*transport*/) {}
    // `message` and `raw` (its encoding) are valid only during the call.
    virtual void on_message(Transport& transport, const NetworkMessage& message,
                            Reliability reliability, Bytes raw) = 0;
    // The link is gone: `reason` says why (peer CLOSE, EOF, lease expiry, protocol error ...).
    virtual void on_closed(Transport& transport, const Error& reason) = 0;
};

class Transport final {
  public:
    enum class State {
        kConnecting,
        kWaitInitAck,
        kWaitOpenAck,
        kWaitInitSyn,
        kWaitOpenSyn,
        kEstablished,
        kClosed
    };

    // Initiator: connects to `endpoint` and runs the handshake.
    [[nodiscard]] static Result<std::unique_ptr<Transport>> connect(EventLoop& loop,
                                                                    const Endpoint& endpoint,
                                                                    TransportConfig config,
                                                                    TransportHandler& handler);
    // Acceptor: runs the handshake on an accepted socket.
    [[nodiscard]] static Result<std::unique_ptr<Transport>> accept(EventLoop& loop,
                                                                   sys::UniqueFd fd,
                                                                   TransportConfig config,
                                                                   TransportHandler& handler);
    ~Transport() = default;
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Queues one network message (established transports only).
    [[nodiscard]] Result<> send(const NetworkMessage& message,
                                Reliability reliability = Reliability::kReliable);
    // Sends CLOSE(reason) and closes the link; on_closed follows.
    void close(uint8_t reason = kCloseGeneric);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] const Zid& peer_zid() const { return peer_zid_; }
    [[nodiscard]] WhatAmI peer_whatami() const { return peer_whatami_; }
    [[nodiscard]] uint16_t batch_size() const { return batch_size_; }
    [[nodiscard]] uint8_t resolution() const { return resolution_; }
    [[nodiscard]] std::chrono::milliseconds lease() const { return lease_; }
    [[nodiscard]] size_t pending_bytes() const { return writer_.pending(); }
    // Stops (false) or resumes (true) reading from the link, established transports only: what
    // the peer sends waits in the socket, and TCP's flow control slows the peer (a receiver's
    // backpressure, daemon/ingress.hpp). While paused the peer's lease does not expire (we are
    // the one not listening); writing goes on.
    void set_reading(bool on);
    [[nodiscard]] bool reading() const { return !reading_paused_; }
    // Bytes held for messages being reassembled (both channels), and fragmented messages dropped
    // for the limit.
    [[nodiscard]] size_t reassembly_bytes() const {
        return reassembly_[0].buf.size() + reassembly_[1].buf.size();
    }
    [[nodiscard]] uint64_t dropped_messages() const { return dropped_messages_; }
    [[nodiscard]] const TransportConfig& config() const { return config_; }
    // The peer's address ("10.0.0.1:7447"), for logs.
    [[nodiscard]] const std::string& peer_address() const { return peer_address_; }
    // The TLS stream of a tls/ link (null for tcp/): its peer's certificate, for logs.
    [[nodiscard]] const tls::TlsStream* tls() const { return tls_.get(); }

  private:
    Transport(EventLoop& loop, TransportConfig config, TransportHandler& handler, State state);
    // Watches `fd` and arms the handshake deadline.
    [[nodiscard]] Result<> start(sys::UniqueFd fd);
    void on_ready(uint32_t events);
    void flush();
    [[nodiscard]] int fd() const { return watch_.fd(); }
    void log(std::string_view line) const;
    void warn(std::string_view line) const;

    // Handshake (transport_handshake.cpp).
    [[nodiscard]] Result<> send_init_syn();
    [[nodiscard]] Result<> on_init(const Init& init);
    [[nodiscard]] Result<> on_open(const Open& open);
    void established();

    // Receive path.
    bool on_batch(Bytes batch);
    [[nodiscard]] Result<> on_item(BatchItem& item);
    [[nodiscard]] Result<> on_fragment(const Fragment& fragment);
    bool sn_forward(Reliability r, uint64_t sn);

    // Transmit path.
    template <typename Message>
    [[nodiscard]] Result<> send_control(const Message& m);
    [[nodiscard]] Result<> send_fragmented(const NetworkMessage& message, Reliability r);
    // Writes what is queued; once all of it is out, a send buffer a large message grew is freed,
    // unless `keep_capacity` (the message is still being queued into the room it reserved).
    [[nodiscard]] Result<> write_now(bool keep_capacity = false);
    void request_flush();
    void want_write(bool on);
    uint64_t next_sn(Reliability r);

    // TLS (transport_tls.cpp).
    [[nodiscard]] Result<> start_tls();
    void on_tls_handshake(Result<> outcome);
    [[nodiscard]] bool tls_handshaking() const {
        return tls_handshake_ != nullptr && !tls_handshake_->finished();
    }
    [[nodiscard]] tls::ByteIo io() const { return tls::ByteIo(fd(), tls_.get()); }
    [[nodiscard]] Error handshake_timeout_error() const;
    // Why a link that ended (EOF, a reset: `cause`) ended, with a hint during the handshake.
    [[nodiscard]] Error closed_error(Error cause) const;
    // A plain acceptor whose peer opened with a TLS record: a tls/ client on a tcp/ port.
    [[nodiscard]] bool peer_spoke_tls() const;
    // Reads and drops what the socket holds before it is closed: closing with unread bytes sends
    // a reset, which can reach the peer before our last words (a CLOSE, a TLS alert).
    void discard_input();

    void on_tick();
    // Closes the link now: CLOSE is sent first if `reason` is set and the socket can take it.
    void shutdown(Error why, std::optional<uint8_t> reason);
    void log_closed(const Error& why, bool accepting) const;

    struct Reassembly {
        ReassemblyBuffer buf;
        bool dropping = false;
    };
    // Drops the message being reassembled (and its remaining fragments), saying why in the log.
    void drop_reassembly(Reassembly& ra, bool more, std::string_view why);

    EventLoop& loop_;
    FdWatch watch_;   // owns the socket; reset when the link closes
    Deferred flush_;  // writes the queued batches at the end of the loop iteration
    bool flush_requested_ = false;
    TransportConfig config_;
    TransportHandler& handler_;
    State state_;

    BatchReader reader_;
    BatchWriter writer_;
    std::vector<uint8_t> scratch_;  // large messages before fragmentation
    std::optional<Reliability> frame_open_;
    bool writing_blocked_ = false;
    bool reading_paused_ = false;  // set_reading(false)
    Deferred resume_read_;         // a read after set_reading(true): TLS may hold decrypted bytes
    bool sent_since_tick_ = false;

    std::string tls_host_;  // the host of a tls/ endpoint dialled
    std::unique_ptr<tls::TlsStream> tls_;
    std::unique_ptr<tls::Handshake> tls_handshake_;

    std::string peer_address_;
    Zid peer_zid_;
    WhatAmI peer_whatami_ = WhatAmI::kPeer;
    uint16_t batch_size_ = kDefaultBatchSize;
    uint8_t resolution_ = kDefaultResolution;
    uint64_t patch_ = 0;
    std::vector<uint8_t> cookie_;
    std::chrono::milliseconds lease_{10000};
    uint64_t sn_mask_ = 0;
    uint64_t tx_sn_[2] = {0, 0};
    uint64_t rx_last_[2] = {0, 0};
    bool drop_frame_ = false;
    Reassembly reassembly_[2];
    uint64_t dropped_messages_ = 0;

    SteadyClock::time_point last_rx_;
    Timer tick_timer_;
    Timer handshake_timer_;
    Timer expiration_timer_;  // close_on_peer_expiration
};

}  // namespace dora::zenoh
