// Test helper: a raw TCP peer that speaks bytes, driven from the test thread between event loop
// iterations (it never blocks on receive), to play zenoh-pico or a misbehaving peer.
//
// Thread safety: test thread only.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "core/sys.hpp"

namespace dora::zenoh::testing {

class RawPeer {
  public:
    explicit RawPeer(uint16_t port) {
        fd_ = sys::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        // Small batches go out at once (Nagle would hold the second one for a delayed ACK).
        int one = 1;
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    void send_batch(const std::vector<uint8_t>& body) {
        std::vector<uint8_t> out{static_cast<uint8_t>(body.size() & 0xff),
                                 static_cast<uint8_t>(body.size() >> 8)};
        out.insert(out.end(), body.begin(), body.end());
        ASSERT_EQ(::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(out.size()));
    }
    // One batch if a whole one has arrived.
    std::optional<std::vector<uint8_t>> try_batch() {
        uint8_t tmp[65536];
        ssize_t n = ::recv(fd_.get(), tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            in_.insert(in_.end(), tmp, tmp + n);
        } else if (n == 0) {
            eof_ = true;
        }
        if (in_.size() < 2) {
            return std::nullopt;
        }
        size_t len = in_[0] | static_cast<size_t>(in_[1]) << 8;
        if (in_.size() < 2 + len) {
            return std::nullopt;
        }
        std::vector<uint8_t> batch(in_.begin() + 2, in_.begin() + 2 + static_cast<long>(len));
        in_.erase(in_.begin(), in_.begin() + 2 + static_cast<long>(len));
        return batch;
    }
    bool eof() const { return eof_; }
    void close() { fd_.reset(); }

  private:
    sys::UniqueFd fd_;
    std::vector<uint8_t> in_;
    bool eof_ = false;
};

}  // namespace dora::zenoh::testing
