// The byte I/O of one connection: its plain socket, or a TLS stream over it. Framing code (the
// Zenoh batch reader and writer; the control plane's FramedStream can take it the same way)
// reads and writes through it without knowing which; a plain socket costs one predictable branch
// per call and no indirect call.
//
// Thread safety: a view; used on the thread that owns the connection.
#pragma once

#include <cstddef>
#include <optional>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "tls/stream.hpp"

namespace dora::tls {

class ByteIo {
  public:
    explicit ByteIo(int fd, TlsStream* tls = nullptr) : fd_(fd), tls_(tls) {}

    // sys::read_some's contract (TlsStream::read's for TLS).
    [[nodiscard]] Result<std::optional<size_t>> read_some(void* buffer, size_t size) const {
        if (tls_ == nullptr) [[likely]] {
            return sys::read_some(fd_, buffer, size);
        }
        return tls_->read(buffer, size);
    }
    // sys::send_some's contract (TlsStream::write's for TLS: repeat a 0 with the same bytes).
    [[nodiscard]] Result<size_t> send_some(const void* data, size_t size) const {
        if (tls_ == nullptr) [[likely]] {
            return sys::send_some(fd_, data, size);
        }
        return tls_->write(data, size);
    }
    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] TlsStream* tls() const { return tls_; }

  private:
    int fd_;
    TlsStream* tls_;
};

}  // namespace dora::tls
