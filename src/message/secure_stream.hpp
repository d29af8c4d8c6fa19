// The bytes of a control connection when they are not a plain socket's: an encrypted stream over
// it (the TLS of tls/control_tls.hpp). FramedStream and Channel take one after the plain hello
// challenge (STARTTLS style) and read and write through it; the message layer knows nothing of
// TLS. `binding()` ties the hello's proofs to this one encrypted session (RFC 9266's
// tls-exporter): a party that relays between two sessions cannot pass a proof from one to the
// other.
//
// Thread safety: one thread at a time (the connection's owner).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace dora::message {

class SecureStream {
  public:
    virtual ~SecureStream() = default;

    enum class Step { kDone, kWantRead, kWantWrite };
    // One step of the handshake: kDone once it finished, else what the socket must become first.
    [[nodiscard]] virtual Result<Step> handshake() = 0;
    // sys::read_some's contract: bytes read, 0 at the end, std::nullopt when none now.
    [[nodiscard]] virtual Result<std::optional<size_t>> read(void* buffer, size_t size) = 0;
    // sys::send_some's contract; a write that took 0 is repeated with the same bytes first.
    [[nodiscard]] virtual Result<size_t> write(const void* data, size_t size) = 0;
    // Decrypted bytes wait: read again without waiting for the socket (false for a partial
    // record: the rest of it makes the socket readable).
    [[nodiscard]] virtual bool has_pending() const = 0;
    // The channel binding of the established session (hex), "" before.
    [[nodiscard]] virtual std::string binding() const = 0;
    // What a handshake that did not finish within `timeout` means.
    [[nodiscard]] virtual Error handshake_timeout(std::chrono::milliseconds timeout) const = 0;
    // Sends the close alert (best effort).
    virtual void shutdown() = 0;
};

}  // namespace dora::message
