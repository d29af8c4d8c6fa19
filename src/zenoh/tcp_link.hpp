// TCP link layer for Zenoh: endpoints turned into sockets through core/net (listen, accept,
// non-blocking connect, big kernel buffers), and the stream framing of batches (u16
// little-endian length, then the batch; docs/zenoh-protocol.md section 2.1), with buffers sized
// so reads take big chunks and a whole run of batches goes out in one send(). tls/ endpoints use
// the same sockets and the same framing, inside TLS (tls_link.hpp): the reader and writer take
// a tls::ByteIo, the socket itself for tcp/.
//
// Threading contract: a TcpListener belongs to one EventLoop and is used on its thread only; it
// calls its accept callback there. BatchReader and BatchWriter are plain buffers of one link.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/acceptor.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/net.hpp"
#include "core/sys.hpp"
#include "tls/byte_io.hpp"
#include "zenoh/codec.hpp"
#include "zenoh/config.hpp"

namespace dora::zenoh {

inline constexpr size_t kLengthPrefix = 2;
inline constexpr size_t kMaxBatchBody = 65535;

// Kernel socket buffers of a Zenoh link: big enough that a 1 MiB sample is a few syscalls.
inline constexpr int kLinkBufferBytes = 4 * 1024 * 1024;

// Starts a non-blocking connect to a tcp (or tls) endpoint; completion shows as writability, then
// net::connect_result(). The socket has TCP_NODELAY and kLinkBufferBytes buffers.
[[nodiscard]] Result<sys::UniqueFd> tcp_connect_start(const Endpoint& endpoint);

// Accept errors (EMFILE ...) pause accepting with a growing delay (core/acceptor.hpp), reported
// to `log` at most once per second; out of descriptors, `shed` may first close a pending link.
class TcpListener {
  public:
    using OnAccept = std::function<void(sys::UniqueFd)>;

    // Binds and listens (port 0 picks an ephemeral port, see port()).
    [[nodiscard]] static Result<std::unique_ptr<TcpListener>> listen(
        EventLoop& loop, const Endpoint& endpoint, OnAccept on_accept, LogSink log = {},
        std::function<bool()> shed = {});
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    [[nodiscard]] uint16_t port() const { return port_; }

  private:
    explicit TcpListener(uint16_t port) : port_(port) {}

    std::unique_ptr<Acceptor> acceptor_;
    uint16_t port_ = 0;
};

// Receive side of the framing: reads big chunks and hands out complete batches. Until
// allow_large_reads() its buffer holds one batch at most (a link still in its handshake holds
// 64 KiB, not the 320 KiB an established one reads with).
class BatchReader {
  public:
    BatchReader();
    // The next read() grows the buffer to its full size.
    void allow_large_reads() { want_ = kFullSize; }

    enum class Status { kAgain, kEof };
    // Reads what the socket has (a bounded number of reads) and calls `on_batch(Bytes)` for each
    // complete batch; on_batch returns false to stop (the link is closing). The Bytes are valid
    // only during the call. With `more`, no further read follows one after which it is false
    // (the reader paused: the batches already read are still handed out).
    [[nodiscard]] Result<Status> read(tls::ByteIo io, const std::function<bool(Bytes)>& on_batch,
                                      const std::function<bool()>& more = nullptr);
    // The received bytes not yet handed out (a partial batch), e.g. to recognise a peer that
    // speaks another protocol during the handshake.
    [[nodiscard]] Bytes unparsed() const { return Bytes(buf_.data() + start_, end_ - start_); }

  private:
    static constexpr size_t kSmallSize = kLengthPrefix + kMaxBatchBody;
    static constexpr size_t kFullSize = size_t{256} * 1024 + kSmallSize;
    bool deliver(const std::function<bool(Bytes)>& on_batch);
    size_t want_ = kSmallSize;
    std::vector<uint8_t> buf_;
    size_t start_ = 0;  // first unparsed byte
    size_t end_ = 0;    // end of received bytes
};

// Transmit side: batches are built in place, back to back with their length prefixes, then
// written with as few send() calls as the socket allows.
class BatchWriter {
  public:
    // Opens a batch (writes the prefix placeholder) unless one is open.
    void open_batch();
    // Closes the open batch: patches its length, or drops it if empty.
    void close_batch();
    [[nodiscard]] bool batch_open() const { return batch_start_ != kNone; }
    // Body bytes in the open batch (0 if none).
    [[nodiscard]] size_t batch_body_size() const;
    [[nodiscard]] std::vector<uint8_t>& buffer() { return buf_; }
    // Bytes queued and not yet written.
    [[nodiscard]] size_t pending() const { return buf_.size() - sent_; }
    // Writes closed batches; true when everything was written, false when the socket is full.
    // The buffer keeps its capacity: a large message reserved its whole size up front.
    [[nodiscard]] Result<bool> write(tls::ByteIo io);
    // Frees the buffer when nothing is queued and it grew past kKeepCapacity (a large message
    // went through while the socket was full), and gives the heap's free memory back; otherwise
    // does nothing (one comparison).
    void release_if_drained();

  private:
    static constexpr size_t kNone = SIZE_MAX;
    static constexpr size_t kKeepCapacity = size_t{8} << 20;  // beyond: release_if_drained frees
    std::vector<uint8_t> buf_;
    size_t sent_ = 0;
    size_t batch_start_ = kNone;
};

}  // namespace dora::zenoh
