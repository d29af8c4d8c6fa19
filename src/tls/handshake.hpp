// Drives a TlsStream's handshake on an EventLoop: the owner of the socket's FdWatch forwards the
// socket's readiness to step() while the handshake runs; each step sets the watch's events to
// what TLS waits for (readable or writable). `done` runs once: with success (the watch then
// waits for EPOLLIN), with the handshake's error, or with the stream's timeout error when the
// deadline passes first. Used by the Zenoh tls/ link; a control connection (message::Channel)
// would use it the same way before its first frame.
//
// Threading contract: the loop thread only. Never destroy a Handshake from inside `done`
// (it is still on the stack): let the owner drop it later.
#pragma once

#include <functional>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "tls/stream.hpp"

namespace dora::tls {

class Handshake {
  public:
    using Done = std::function<void(Result<>)>;

    // Arms the deadline; call step() for the first step.
    Handshake(EventLoop& loop, FdWatch& watch, TlsStream& stream, SteadyClock::duration timeout,
              Done done);
    Handshake(const Handshake&) = delete;
    Handshake& operator=(const Handshake&) = delete;

    // Runs the handshake as far as the socket allows.
    void step();
    [[nodiscard]] bool finished() const { return finished_; }

  private:
    void finish(Result<> outcome);

    FdWatch& watch_;
    TlsStream& stream_;
    Done done_;
    Timer deadline_;
    bool finished_ = false;
};

}  // namespace dora::tls
