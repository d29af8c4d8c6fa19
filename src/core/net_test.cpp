#include "core/net.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <cerrno>

namespace dora::net {
namespace {

using namespace std::chrono_literals;

std::optional<Accepted> accept_within(int listen_fd, std::chrono::milliseconds limit) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) {
        return std::nullopt;
    }
    auto accepted = accept_tcp(listen_fd);
    EXPECT_TRUE(accepted) << accepted.error().message();
    return accepted ? std::move(*accepted) : std::nullopt;
}

TEST(Net, ListenOnAnEphemeralPortAndConnect) {
    auto listener = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(listener) << listener.error().message();
    ASSERT_NE(listener->port(), 0);
    auto client = connect_tcp("127.0.0.1", listener->port(), 2s);
    ASSERT_TRUE(client) << client.error().message();
    auto peer = accept_within(listener->fd.get(), 2000ms);
    ASSERT_TRUE(peer);
    EXPECT_TRUE(peer->peer.is_loopback());
    EXPECT_EQ(peer->peer.host(), "127.0.0.1");
    auto local = local_address(client->get());
    ASSERT_TRUE(local);
    EXPECT_EQ(peer->peer.port(), local->port());
}

TEST(Net, NothingPendingIsNotAnError) {
    auto listener = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(listener);
    auto accepted = accept_tcp(listener->fd.get());
    ASSERT_TRUE(accepted);
    EXPECT_FALSE(accepted->has_value());
}

TEST(Net, APortInUseIsReportedWithItsErrno) {
    auto first = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(first);
    auto second = listen_tcp("127.0.0.1", first->port());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), EADDRINUSE);
    EXPECT_NE(second.error().message().find(fmt::format("127.0.0.1:{}", first->port())),
              std::string::npos)
        << second.error().message();
}

TEST(Net, ConnectingToAClosedPortSaysWhereAndWhy) {
    auto listener = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(listener);
    uint16_t port = listener->port();
    listener->fd.reset();
    auto client = connect_tcp("127.0.0.1", port, 2s);
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error().code(), ECONNREFUSED);
    EXPECT_NE(client.error().message().find(fmt::format("127.0.0.1:{}", port)), std::string::npos)
        << client.error().message();
}

TEST(Net, IPv6LoopbackWorksAndIsFormattedWithBrackets) {
    auto listener = listen_tcp("::1", 0, Family::kIpv6);
    if (!listener) {
        GTEST_SKIP() << "no IPv6 loopback here: " << listener.error().message();
    }
    auto client = connect_tcp("::1", listener->port(), 2s);
    ASSERT_TRUE(client) << client.error().message();
    auto peer = accept_within(listener->fd.get(), 2000ms);
    ASSERT_TRUE(peer);
    EXPECT_TRUE(peer->peer.is_loopback());
    EXPECT_EQ(peer->peer.to_string().front(), '[');
}

TEST(Net, JoinHostPortBracketsIPv6Only) {
    EXPECT_EQ(join_host_port("10.0.0.1", 7447), "10.0.0.1:7447");
    EXPECT_EQ(join_host_port("::1", 7447), "[::1]:7447");
    EXPECT_EQ(join_host_port("example.org", 1), "example.org:1");
}

TEST(Net, AnUnresolvableNameNamesTheName) {
    auto addresses = resolve("no-such-host.invalid", 1);
    ASSERT_FALSE(addresses);
    EXPECT_NE(addresses.error().message().find("no-such-host.invalid"), std::string::npos);
}

TEST(Net, LocalAddressTowardsLoopbackIsLoopback) {
    EXPECT_EQ(local_address_towards("127.0.0.1", 53290), "127.0.0.1");
}

}  // namespace
}  // namespace dora::net
