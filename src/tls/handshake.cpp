#include "tls/handshake.hpp"

#include <sys/epoll.h>

namespace dora::tls {

Handshake::Handshake(EventLoop& loop, FdWatch& watch, TlsStream& stream,
                     SteadyClock::duration timeout, Done done)
    : watch_(watch), stream_(stream), done_(std::move(done)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    deadline_ = loop.add_timer(timeout, [this, ms] {
        if (!finished_) {
            finish(tl::unexpected(stream_.handshake_timeout(ms)));
        }
    });
}

void Handshake::step() {
    if (finished_) {
        return;
    }
    auto progress = stream_.handshake();
    if (!progress) {
        finish(tl::unexpected(progress.error()));
        return;
    }
    if (*progress == TlsStream::Progress::kDone) {
        // The watch fails to change only once its descriptor is gone (the owner is closing).
        (void)watch_.set_events(EPOLLIN);
        finish({});
        return;
    }
    (void)watch_.set_events(*progress == TlsStream::Progress::kWantWrite ? EPOLLOUT : EPOLLIN);
}

void Handshake::finish(Result<> outcome) {
    finished_ = true;
    deadline_.cancel();
    done_(std::move(outcome));
}

}  // namespace dora::tls
