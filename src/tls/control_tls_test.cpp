// The control plane's TLS on message::Channel: the plain challenge, the switch on both sides, then
// many messages of every size (records of 16 KiB, decrypted bytes left waiting inside TLS) in
// order; the channel binding is the same on both sides and differs between sessions; a peer that
// keeps speaking plain bytes, and one that never does its handshake, end the channel with a reason.
#include "tls/control_tls.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "core/sys.hpp"
#include "message/channel.hpp"
#include "tls/test_certs.hpp"

namespace dora::tls {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::shared_ptr<const TlsContext> server_context() {
    static const testing::TestCa ca("control test CA");
    auto pair = ca.issue({});
    return control_server_context(pair.certificate, pair.key).value();
}

struct Pair {
    std::unique_ptr<EventLoop> loop = EventLoop::create().value();
    std::unique_ptr<message::Channel> server, client;
    std::vector<json> to_server, to_client;
    std::string server_closed, client_closed;
    bool client_established = false;

    // Replaces the client by a raw socket the test writes to (or leaves silent).
    sys::UniqueFd raw_client() {
        client = nullptr;
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        server = message::Channel::open(
                     *loop, sys::UniqueFd(fds[0]), [this](json m) { to_server.push_back(m); },
                     [this](const std::string& why) { server_closed = why; })
                     .value();
        return sys::UniqueFd(fds[1]);
    }

    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        server = message::Channel::open(
                     *loop, sys::UniqueFd(fds[0]), [this](json m) { to_server.push_back(m); },
                     [this](const std::string& why) { server_closed = why.empty() ? "?" : why; })
                     .value();
        client = message::Channel::open(
                     *loop, sys::UniqueFd(fds[1]),
                     [this](json m) {
                         to_client.push_back(m);
                         if (m["type"] == "challenge") start_client();
                     },
                     [this](const std::string& why) { client_closed = why.empty() ? "?" : why; })
                     .value();
    }
    void start_client() {
        auto context = control_client_context().value();
        auto secure = control_client_stream(context, client->fd(), "127.0.0.1", "the server");
        ASSERT_TRUE(secure) << secure.error().message();
        client->start_secure(std::move(*secure), 5s, [this] { client_established = true; });
    }
    void start_server(std::chrono::milliseconds timeout = 5000ms) {
        ASSERT_TRUE(server->send(json{{"type", "challenge"}}));
        // As the coordinator does: the TLS state is made once the client speaks.
        message::Channel* channel = server.get();
        channel->start_secure_on_first_bytes(
            [channel] {
                return control_server_stream(server_context(), channel->fd(), "the client");
            },
            timeout);
    }
    template <typename Done>
    bool pump(Done done, std::chrono::milliseconds limit = 20000ms) {
        auto deadline = SteadyClock::now() + limit;
        while (!done() && SteadyClock::now() < deadline) loop->run_once(5ms);
        return done();
    }
};

TEST(ControlTls, MessagesOfEverySizeCrossInOrderAfterTheSwitch) {
    Pair p;
    p.start_server();
    // The client is done first (TLS 1.3); the server once the client's Finished arrived.
    ASSERT_TRUE(p.pump([&] {
        return (p.client_established && p.server->secure()) || !p.client_closed.empty();
    })) << "no handshake";
    ASSERT_TRUE(p.client_established) << p.client_closed;
    ASSERT_TRUE(p.server->secure());
    ASSERT_TRUE(p.client->secure());
    EXPECT_EQ(p.client->binding().size(), 64u);
    EXPECT_EQ(p.client->binding(), p.server->binding());

    // Sizes around TLS's 16 KiB records and FramedStream's 64 KiB reads, up to 3 MiB.
    const std::vector<size_t> sizes = {1,     100,   16383,  16384,   16385,  65535,
                                       65536, 70000, 262144, 1 << 20, 3 << 20};
    size_t sent = 0;
    for (int round = 0; round < 3; ++round) {
        for (size_t size : sizes) {
            std::string body(size, static_cast<char>('a' + sent % 26));
            ASSERT_TRUE(p.client->send(json{{"type", "m"}, {"n", sent}, {"body", body}}));
            ASSERT_TRUE(p.server->send(json{{"type", "m"}, {"n", sent}, {"body", body}}));
            ++sent;
        }
    }
    ASSERT_TRUE(p.pump([&] {
        return (p.to_server.size() == sent && p.to_client.size() == sent + 1) ||
               !p.server_closed.empty() || !p.client_closed.empty();
    })) << "server got "
        << p.to_server.size() << ", client got " << p.to_client.size()
        << "; closed: " << p.server_closed << " / " << p.client_closed;
    for (size_t i = 0; i < sent; ++i) {
        const size_t size = sizes[i % sizes.size()];
        EXPECT_EQ(p.to_server[i]["n"], i);
        EXPECT_EQ(p.to_server[i]["body"].get<std::string>().size(), size);
        EXPECT_EQ(p.to_client[i + 1]["n"], i);  // after the plain challenge
        EXPECT_EQ(p.to_client[i + 1]["body"].get<std::string>(),
                  std::string(size, static_cast<char>('a' + i % 26)));
    }
}

TEST(ControlTls, EachSessionHasItsOwnBinding) {
    Pair a, b;
    a.start_server();
    b.start_server();
    ASSERT_TRUE(a.pump([&] { return a.client_established && a.server->secure(); }));
    ASSERT_TRUE(b.pump([&] { return b.client_established && b.server->secure(); }));
    EXPECT_EQ(a.client->binding(), a.server->binding());
    EXPECT_NE(a.client->binding(), b.client->binding());
}

TEST(ControlTls, PlainBytesAfterTheChallengeEndTheChannel) {
    Pair p;
    // The client ignores the announced switch and keeps speaking plain frames.
    sys::UniqueFd plain = p.raw_client();
    p.start_server();
    ASSERT_TRUE(sys::write_all(plain.get(), message::encode_frame(json{{"type", "hello"}})));
    ASSERT_TRUE(p.pump([&] { return !p.server_closed.empty(); }));
    EXPECT_TRUE(p.to_server.empty());  // nothing plain is taken as a message
    EXPECT_NE(p.server_closed.find("TLS"), std::string::npos) << p.server_closed;
}

TEST(ControlTls, AHandshakeThatNeverComesEndsTheChannelAtTheDeadline) {
    Pair p;
    sys::UniqueFd silent = p.raw_client();  // never answers
    p.start_server(200ms);
    ASSERT_TRUE(p.pump([&] { return !p.server_closed.empty(); }, 5000ms));
    EXPECT_NE(p.server_closed.find("no TLS handshake within 200 ms"), std::string::npos)
        << p.server_closed;
}

}  // namespace
}  // namespace dora::tls
