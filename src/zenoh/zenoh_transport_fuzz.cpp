// libFuzzer target for the transport receive path: an acceptor Transport on one end of a
// socketpair completes the handshake with a scripted peer, then the input is written as the peer's
// byte stream (batches, fragments, SNs, CLOSE...). Any input must end in delivered messages or a
// clean close, never a crash or a hang.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/event_loop.hpp"
#include "zenoh/transport.hpp"

namespace {

using namespace dora::zenoh;

// Signals stay libFuzzer's: Ctrl-C stops it.
std::unique_ptr<dora::EventLoop> make_loop() {
    return dora::EventLoop::create({nullptr, /*handle_signals=*/false}).value();
}

struct Sink : TransportHandler {
    bool closed = false;
    void on_message(Transport&, const NetworkMessage&, Reliability, Bytes) override {}
    void on_closed(Transport&, const dora::Error&) override { closed = true; }
};

void send_batch(int fd, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> out{static_cast<uint8_t>(body.size() & 0xff),
                             static_cast<uint8_t>(body.size() >> 8)};
    out.insert(out.end(), body.begin(), body.end());
    if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        std::abort();
    }
}

std::vector<uint8_t> recv_batch(int fd) {
    uint8_t prefix[2];
    if (::recv(fd, prefix, 2, MSG_WAITALL) != 2) {
        std::abort();
    }
    std::vector<uint8_t> body(prefix[0] | static_cast<size_t>(prefix[1]) << 8);
    if (::recv(fd, body.data(), body.size(), MSG_WAITALL) != static_cast<ssize_t>(body.size())) {
        std::abort();
    }
    return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static auto loop = make_loop();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        return 0;
    }
    dora::sys::UniqueFd peer(fds[1]);
    dora::sys::UniqueFd ours(fds[0]);
    if (!dora::sys::set_nonblocking(ours.get())) {
        return 0;
    }
    TransportConfig config;
    config.max_message_size = 1 << 20;
    config.log = [](std::string_view) {};
    Sink sink;
    auto transport = Transport::accept(*loop, std::move(ours), config, sink).value();

    Init syn;
    syn.whatami = WhatAmI::kClient;
    syn.zid = Zid::from_bytes(std::vector<uint8_t>{1, 2, 3}).value();
    syn.batch_size = 2048;
    syn.patch = 1;
    send_batch(peer.get(), encode_to_vector(syn));
    loop->run_once(std::chrono::milliseconds(0));
    auto ack_batch = recv_batch(peer.get());  // the decoded cookie views it
    auto ack = std::get<Init>(decode_single(ack_batch).value());
    Open open;
    open.cookie = ack.cookie;
    send_batch(peer.get(), encode_to_vector(open));
    loop->run_once(std::chrono::milliseconds(0));
    (void)recv_batch(peer.get());
    if (transport->state() != Transport::State::kEstablished) {
        std::abort();
    }

    (void)::send(peer.get(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    for (int i = 0; i < 8 && !sink.closed; ++i) {
        loop->run_once(std::chrono::milliseconds(0));
    }
    return 0;
}
