#include "message/channel.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/sys.hpp"

namespace dora::message {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
    sys::UniqueFd a;
    sys::UniqueFd b;
};

SocketPair socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    return {sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

class ChannelTest : public ::testing::Test {
  protected:
    std::unique_ptr<EventLoop> loop_ = EventLoop::create().value();
    std::vector<nlohmann::json> received_;
    std::optional<std::string> closed_;

    std::unique_ptr<Channel> open(sys::UniqueFd fd, size_t limit = 0) {
        return Channel::open(
                   *loop_, std::move(fd), [this](nlohmann::json m) { received_.push_back(m); },
                   [this](const std::string& why) { closed_ = why; }, limit)
            .value();
    }

    template <typename Condition>
    bool run_until(Condition cond) {
        auto deadline = SteadyClock::now() + 5s;
        while (!cond() && SteadyClock::now() < deadline) {
            loop_->run_once(10ms);
        }
        return cond();
    }
};

TEST_F(ChannelTest, MessagesArriveInOrderBothWays) {
    auto [a, b] = socket_pair();
    auto left = open(std::move(a));
    FramedStream right;
    for (int i = 0; i < 100; ++i) {
        left->send(with_type("test.n", {{"n", i}}));
    }
    std::vector<int> got;
    ASSERT_TRUE(run_until([&] {
        (void)right.read_some(b.get());
        while (auto m = right.next().value()) {
            got.push_back((*m)["n"]);
        }
        return got.size() == 100;
    }));
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(got[static_cast<size_t>(i)], i);
    }
    ASSERT_TRUE(right.send_blocking(b.get(), with_type("test.reply", {}), 1s));
    ASSERT_TRUE(run_until([&] { return !received_.empty(); }));
    EXPECT_EQ(received_[0]["type"], "test.reply");
}

TEST_F(ChannelTest, AMessageSentJustBeforeThePeerClosesIsDeliveredBeforeTheClose) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a));
    FramedStream peer;
    ASSERT_TRUE(peer.send_blocking(b.get(), make(ErrorMessage{"go away"}), 1s));
    b.reset();
    ASSERT_TRUE(run_until([&] { return closed_.has_value(); }));
    ASSERT_EQ(received_.size(), 1u);
    EXPECT_EQ(received_[0]["message"], "go away");
}

TEST_F(ChannelTest, TooMuchInputBeforeTheLimitIsLiftedClosesTheChannel) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a), 1024);
    std::string junk(4096, 'x');
    ASSERT_EQ(::write(b.get(), junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
    ASSERT_TRUE(run_until([&] { return closed_.has_value(); }));
    EXPECT_NE(closed_->find("1024"), std::string::npos) << *closed_;
    EXPECT_FALSE(channel->is_open());
}

TEST_F(ChannelTest, AGarbageFrameClosesTheChannelWithTheReason) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a));
    const char bad[] = "\x05\x00\x00\x00hello";
    ASSERT_EQ(::write(b.get(), bad, 9), 9);
    ASSERT_TRUE(run_until([&] { return closed_.has_value(); }));
    EXPECT_NE(closed_->find("JSON"), std::string::npos) << *closed_;
}

TEST_F(ChannelTest, CloseAfterFlushDeliversTheLastMessageThenEnds) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a));
    channel->send(make(ErrorMessage{"refused"}));
    channel->close_after_flush("refused");
    FramedStream peer;
    auto last = peer.receive_blocking(b.get(), 2s);
    ASSERT_TRUE(last) << last.error().message();
    ASSERT_TRUE(*last);
    EXPECT_EQ((**last)["message"], "refused");
    b.reset();  // the peer hangs up: the channel ends at once, not after the linger
    ASSERT_TRUE(run_until([&] { return closed_.has_value(); }));
    EXPECT_EQ(*closed_, "refused");
}

TEST_F(ChannelTest, SendingToAClosedChannelDoesNothing) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a));
    channel->close("done");
    ASSERT_EQ(closed_, "done");
    EXPECT_FALSE(channel->send(with_type("test.late", {})));
    channel->close("again");
    EXPECT_EQ(closed_, "done");
}

TEST_F(ChannelTest, AMessageOverTheFrameLimitIsRefusedAndTheChannelStaysOpen) {
    auto [a, b] = socket_pair();
    auto channel = open(std::move(a));
    auto sent = channel->send(with_type("test.big", {{"blob", std::string(kMaxFrameSize, 'x')}}));
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), kFrameTooLarge);
    EXPECT_TRUE(channel->is_open());
    EXPECT_FALSE(closed_);
    EXPECT_TRUE(channel->send(with_type("test.small", {})));
    FramedStream right;
    std::optional<nlohmann::json> got;
    ASSERT_TRUE(run_until([&] {
        (void)right.read_some(b.get());
        if (!got) {
            got = right.next().value();
        }
        return got.has_value();
    }));
    EXPECT_EQ((*got)["type"], "test.small");
}

}  // namespace
}  // namespace dora::message
