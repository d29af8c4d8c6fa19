// TCP link layer for Zenoh: socket set-up (listen, accept, non-blocking connect) and the stream
// framing of batches (u16 little-endian length, then the batch), with buffers sized so reads take
// big chunks and a whole run of batches goes out in one send().
//
// Threading contract: a TcpListener and a TcpLink belong to one EventLoop and are used on its
// thread only. TcpListener calls its accept callback on the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "zenoh/codec.hpp"
#include "zenoh/config.hpp"
#include "zenoh/event_loop.hpp"

namespace dora::zenoh {

inline constexpr size_t kLengthPrefix = 2;
inline constexpr size_t kMaxBatchBody = 65535;

// Starts a non-blocking connect; completion shows as writability, then check_connected().
[[nodiscard]] Result<sys::UniqueFd> tcp_connect_start(const Endpoint& endpoint);
// The result of a non-blocking connect (SO_ERROR).
[[nodiscard]] Result<> check_connected(int fd);
// Sets TCP_NODELAY and larger socket buffers.
void tune_socket(int fd);

class TcpListener final : public FdHandler {
  public:
    using OnAccept = std::function<void(sys::UniqueFd)>;

    // Binds and listens (port 0 picks an ephemeral port, see port()).
    [[nodiscard]] static Result<std::unique_ptr<TcpListener>> listen(EventLoop& loop,
                                                                     const Endpoint& endpoint,
                                                                     OnAccept on_accept);
    ~TcpListener() override;

    [[nodiscard]] uint16_t port() const { return port_; }
    void on_ready(uint32_t events) override;

  private:
    TcpListener(EventLoop& loop, sys::UniqueFd fd, uint16_t port, OnAccept on_accept);
    EventLoop& loop_;
    sys::UniqueFd fd_;
    uint16_t port_ = 0;
    OnAccept on_accept_;
};

// Receive side of the framing: reads big chunks and hands out complete batches.
class BatchReader {
  public:
    BatchReader();

    enum class Status { kAgain, kEof };
    // Reads what the socket has (a bounded number of reads) and calls `on_batch(Bytes)` for each
    // complete batch; on_batch returns false to stop (the link is closing). The Bytes are valid
    // only during the call.
    [[nodiscard]] Result<Status> read(int fd, const std::function<bool(Bytes)>& on_batch);

  private:
    bool deliver(const std::function<bool(Bytes)>& on_batch);
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
    [[nodiscard]] Result<bool> write(int fd);

  private:
    static constexpr size_t kNone = SIZE_MAX;
    std::vector<uint8_t> buf_;
    size_t sent_ = 0;
    size_t batch_start_ = kNone;
};

}  // namespace dora::zenoh
