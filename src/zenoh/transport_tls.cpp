// Transport over TLS (tls/ endpoints): the TLS handshake before the Zenoh one, and the messages
// of links that end before their handshakes did. After the TLS handshake the link runs as a TCP
// one does: the batch framing is the same (Zenoh's tls link is a byte stream like tcp), only
// the bytes go through the TlsStream (tls::ByteIo).
//
// Reads need no extra wake-up: BatchReader offers at least a whole batch of room (64 KiB), more
// than a TLS record (16 KiB), so no decrypted byte is left inside OpenSSL, and OpenSSL reads no
// further ahead than the record it decrypts, so the rest stays in the socket, where epoll sees it.
#include <sys/epoll.h>
#include <sys/socket.h>

#include "zenoh/transport.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

Result<> Transport::start_tls() {
    const bool client = config_.tls->role() == tls::TlsContext::Role::kClient;
    DORA_ZTRY(stream, client ? tls::TlsStream::client(config_.tls, fd(), tls_host_, peer_address_)
                             : tls::TlsStream::server(config_.tls, fd(), peer_address_));
    tls_ = std::move(stream);
    tls_handshake_ = std::make_unique<tls::Handshake>(
        loop_, watch_, *tls_, config_.handshake_timeout,
        [this](Result<> outcome) { on_tls_handshake(std::move(outcome)); });
    if (client) {
        tls_handshake_->step();  // the ClientHello goes out now
    }
    return {};
}

void Transport::on_tls_handshake(Result<> outcome) {
    if (!outcome) {
        shutdown(outcome.error(), std::nullopt);
        return;
    }
    if (tls_->peer_certificate().empty()) {
        log(fmt::format("zenoh transport: TLS with {} established", tls_->who()));
    } else {
        log(fmt::format("zenoh transport: TLS with {} established; its certificate: {}",
                        tls_->who(), tls_->peer_certificate()));
    }
    if (auto not_after = tls_->peer_not_after(); config_.close_on_peer_expiration && not_after) {
        const auto left = std::max(std::chrono::system_clock::duration::zero(),
                                   *not_after - std::chrono::system_clock::now());
        expiration_timer_ =
            loop_.add_timer(std::chrono::duration_cast<SteadyClock::duration>(left), [this] {
                shutdown(Error::make("the certificate of {} expired "
                                     "(transport.link.tls.close_link_on_expiration is on)",
                                     tls_->who()),
                         kCloseExpired);
            });
    }
    if (state_ == State::kConnecting) {
        if (auto sent = send_init_syn(); !sent) {
            shutdown(sent.error(), std::nullopt);
        }
    }
}

Error Transport::handshake_timeout_error() const {
    if (tls_handshaking()) {
        return tls_->handshake_timeout(config_.handshake_timeout);
    }
    return Error::make("handshake not finished after {} ms", config_.handshake_timeout.count());
}

Error Transport::closed_error(Error cause) const {
    if (state_ != State::kEstablished && !config_.tls && state_ != State::kWaitInitSyn) {
        // A tls/ listener drops a plain client without a word (it cannot speak our framing).
        return Error::make(
            "the peer at {} closed the connection during the Zenoh handshake ({}): if it listens "
            "on tls/, use tls/ here",
            peer_address_, cause.message());
    }
    return cause;
}

bool Transport::peer_spoke_tls() const {
    // A TLS connection opens with a handshake record (type 22, version 3.x). A Zenoh peer opens
    // with an INIT batch of a few dozen bytes, whose length prefix is never 0x0316 (790).
    Bytes head = reader_.unparsed();
    return !config_.tls && head.size() >= 2 && head[0] == 0x16 && head[1] == 0x03;
}

void Transport::discard_input() {
    if (!watch_.active()) {
        return;
    }
    char buf[4096];
    for (int i = 0; i < 64; ++i) {  // at most 256 KiB: a flood is not read to its end
        if (::recv(fd(), buf, sizeof buf, MSG_DONTWAIT) <= 0) {
            return;
        }
    }
}

}  // namespace dora::zenoh
