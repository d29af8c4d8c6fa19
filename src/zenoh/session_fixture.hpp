// Test helper: the fixture of the session tests (session_test.cpp, session_liveliness_test.cpp,
// session_query_test.cpp): sessions on one test loop over loopback, raw peers that play
// zenoh-pico or Rust, and what they received.
//
// Thread safety: test thread only.
#pragma once

#include <gtest/gtest.h>

#include <deque>

#include "zenoh/session.hpp"
#include "zenoh/test_loop.hpp"
#include "zenoh/test_peer.hpp"

namespace dora::zenoh::testing {

using namespace std::chrono_literals;

inline std::vector<uint8_t> hex(std::string_view h) { return from_hex(h).value(); }

struct Received {
    std::vector<std::pair<std::string, std::string>> samples;  // key, payload
    bool has(std::string_view key, std::string_view payload) const {
        return std::find(samples.begin(), samples.end(),
                         std::pair<std::string, std::string>(key, payload)) != samples.end();
    }
    bool has_key(std::string_view key) const {
        return std::any_of(samples.begin(), samples.end(),
                           [&](const auto& s) { return s.first == key; });
    }
    SampleCallback callback() {
        return [this](const Sample& s) {
            samples.emplace_back(std::string(s.key), std::string(as_string_view(s.put.payload)));
        };
    }
};

class SessionTest : public LoopTest {
  protected:
    std::unique_ptr<Session> open(Mode mode, std::vector<std::string> listen,
                                  std::vector<std::string> connect,
                                  uint64_t max_message_size = kDefaultMaxMessageSize) {
        SessionOptions options;
        options.config.mode = mode;
        options.config.max_message_size = max_message_size;
        for (const auto& e : listen) {
            options.config.listen.push_back(parse_endpoint(e).value());
        }
        for (const auto& e : connect) {
            options.config.connect.push_back(parse_endpoint(e).value());
        }
        options.transport.log = log_sink();
        options.reconnect_delay = 50ms;
        auto session = Session::open(*loop_, std::move(options));
        EXPECT_TRUE(session) << session.error().message();
        return session ? std::move(*session) : nullptr;
    }

    static std::string at(const Session& s) {
        return "tcp/127.0.0.1:" + std::to_string(s.listen_ports().at(0));
    }

    // Network messages received by a raw peer, kept with the batches they view.
    std::vector<NetworkMessage> drain(RawPeer& peer) {
        std::vector<NetworkMessage> out;
        while (auto batch = peer.try_batch()) {
            batches_.push_back(std::move(*batch));
            BatchDecoder decoder(batches_.back());
            for (int i = 0; i < 10000; ++i) {
                auto item = decoder.next();
                EXPECT_TRUE(item) << item.error().message();
                if (!item || !*item) {
                    break;
                }
                if (auto* framed = std::get_if<FramedNetwork>(&**item)) {
                    out.push_back(framed->message);
                }
            }
        }
        return out;
    }

    // Appends the declarations the raw peer received to `out`.
    void collect_declarations(RawPeer& peer, std::vector<Declare>& out) {
        for (const auto& m : drain(peer)) {
            if (const auto* d = std::get_if<Declare>(&m)) {
                out.push_back(*d);
            }
        }
    }

    // Lets what is in flight land (a few loop iterations).
    void settle() {
        for (int i = 0; i < 30; ++i) {
            loop_->run_once(1ms);
        }
    }

    // Appends the keys of the PUSHes the raw peer received.
    void append_push_keys(RawPeer& peer, std::vector<std::string>& keys) {
        for (const auto& m : drain(peer)) {
            if (const auto* push = std::get_if<Push>(&m)) {
                keys.emplace_back(push->key.suffix);
            }
        }
    }

    // Plays zenoh-pico's handshake: as a client (ZID length and whatami byte f2) or, with "f1",
    // as a peer.
    void pico_handshake(RawPeer& peer, std::string_view whatami_byte = "f2") {
        peer.send_batch(
            hex(fmt::format("c109{}a85d4c129ffc4318f57e46aabc6ed1e50a00082701", whatami_byte)));
        std::optional<std::vector<uint8_t>> ack;
        ASSERT_TRUE(run_until([&] { return (ack = peer.try_batch()).has_value(); }));
        Init init = std::get<Init>(decode_single(*ack).value());
        std::vector<uint8_t> open{0x42, 0x0a, 0x00};
        Writer w(open);
        w.zbytes(init.cookie);
        peer.send_batch(open);
        ASSERT_TRUE(run_until([&] { return peer.try_batch().has_value(); }));
    }

    std::deque<std::vector<uint8_t>> batches_;
};

// FRAME(sn) carrying one network message, as a raw peer sends it.
inline std::vector<uint8_t> framed(uint64_t sn, const NetworkMessage& m) {
    std::vector<uint8_t> out;
    Writer w(out);
    encode(w, FrameHeader{true, sn, {}});
    encode(w, m);
    return out;
}

}  // namespace dora::zenoh::testing
