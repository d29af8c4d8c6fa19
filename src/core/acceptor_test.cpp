#include "core/acceptor.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

namespace dora {
namespace {

using namespace std::chrono_literals;

class AcceptorTest : public ::testing::Test {
  protected:
    ManualClock clock_;
    std::unique_ptr<EventLoop> loop_ = EventLoop::create({&clock_, false}).value();
    std::vector<std::string> logs_;
    std::vector<net::Accepted> accepted_;
    net::Listener listener_ = net::listen_tcp("127.0.0.1", 0).value();
    uint16_t port_ = listener_.port();
    std::unique_ptr<Acceptor> acceptor_;
    std::function<bool()> shed_;

    void SetUp() override {
        AcceptorOptions options;
        options.what = "the test port";
        options.shed = [this] { return shed_ && shed_(); };
        options.log = [this](const std::string& line) { logs_.push_back(line); };
        acceptor_ =
            Acceptor::start(*loop_, std::move(listener_.fd), options, [this](net::Accepted a) {
                accepted_.push_back(std::move(a));
            }).value();
    }
    void spin(int rounds = 5) {
        for (int i = 0; i < rounds; ++i) {
            loop_->run_once(0ms);
        }
    }
    sys::UniqueFd connect() { return net::connect_tcp("127.0.0.1", port_, 2s).value(); }
};

// Lowers the soft descriptor limit so that the next descriptor cannot be made (EMFILE), and
// puts it back when destroyed.
class NoMoreDescriptors {
  public:
    NoMoreDescriptors() {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        int lowest_free = ::dup(0);
        ::close(lowest_free);
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
        ::setrlimit(RLIMIT_NOFILE, &lowered);
    }
    ~NoMoreDescriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
    NoMoreDescriptors(const NoMoreDescriptors&) = delete;
    NoMoreDescriptors& operator=(const NoMoreDescriptors&) = delete;

  private:
    rlimit saved_{};
};

TEST_F(AcceptorTest, HandsOverEachConnection) {
    auto a = connect();
    auto b = connect();
    spin();
    ASSERT_EQ(accepted_.size(), 2u);
    EXPECT_TRUE(accepted_[0].peer.is_loopback());
    EXPECT_FALSE(acceptor_->paused());
}

TEST_F(AcceptorTest, OutOfDescriptorsPausesWithAGrowingDelayInsteadOfSpinning) {
    auto client = connect();
    {
        NoMoreDescriptors limit;
        spin(1000);  // the listener stays readable: a spinning acceptor would fail 1000 times
        EXPECT_EQ(acceptor_->failures(), 1u);
        EXPECT_TRUE(acceptor_->paused());
        clock_.advance(10ms);  // first pause: 10 ms
        spin(100);
        EXPECT_EQ(acceptor_->failures(), 2u);
        clock_.advance(10ms);  // the second pause is 20 ms: not over yet
        spin(100);
        EXPECT_EQ(acceptor_->failures(), 2u);
        clock_.advance(10ms);
        spin(100);
        EXPECT_EQ(acceptor_->failures(), 3u);
        for (int i = 0; i < 20; ++i) {  // the delay stops growing at 1 s
            clock_.advance(1s);
            spin(3);
        }
        EXPECT_EQ(acceptor_->failures(), 23u);
        EXPECT_TRUE(accepted_.empty());
    }
    // Once per second at most, and the held-back count is in the next line.
    ASSERT_FALSE(logs_.empty());
    EXPECT_LE(logs_.size(), 22u);
    EXPECT_NE(logs_[0].find("the test port"), std::string::npos) << logs_[0];
    EXPECT_NE(logs_[0].find("not accepting for 10 ms"), std::string::npos) << logs_[0];
    EXPECT_NE(logs_[1].find("2 more such error(s)"), std::string::npos) << logs_[1];
    // Descriptors again: the next pause ends in an accept, and the delay starts over.
    clock_.advance(1s);
    spin();
    ASSERT_EQ(accepted_.size(), 1u);
    EXPECT_FALSE(acceptor_->paused());
}

TEST_F(AcceptorTest, OutOfDescriptorsFirstClosesAPendingStrangerIfThereIsOne) {
    sys::UniqueFd stranger(::dup(0));  // stands for a pending connection the owner may close
    auto client = connect();
    NoMoreDescriptors limit;
    shed_ = [&] {
        const bool had = stranger.valid();
        stranger.reset();
        return had;
    };
    spin();
    ASSERT_EQ(accepted_.size(), 1u);
    // The table is full again and nobody is left to close: the next accept() (Linux takes the
    // descriptor before looking for a connection) fails, and accepting pauses.
    EXPECT_EQ(acceptor_->failures(), 2u);
    EXPECT_TRUE(acceptor_->paused());
}

net::SocketAddress from(const char* host) { return net::resolve(host, 1234).value().front(); }

struct GateTest : ::testing::Test {
    std::vector<std::string> logs;
    std::vector<std::string> closed;  // hosts whose connection the gate closed
    std::shared_ptr<PendingGate> gate = PendingGate::create(
        {4, 2}, "test port", [this](const std::string& line) { logs.push_back(line); });
    const SteadyClock::time_point now = SteadyClock::time_point(1000h);

    Result<PendingSlot> admit(const char* host) {
        return gate->admit(from(host), now,
                           [this, host](const std::string&) { closed.emplace_back(host); });
    }
};

TEST_F(GateTest, OverThePerAddressCapTheNewestIsRefusedAndLoggedNamingTheAddress) {
    auto a1 = admit("127.0.0.2");
    auto a2 = admit("127.0.0.2");
    ASSERT_TRUE(a1 && a2);
    auto a3 = admit("127.0.0.2");
    ASSERT_FALSE(a3);
    EXPECT_NE(a3.error().message().find("from 127.0.0.2"), std::string::npos);
    EXPECT_FALSE(admit("127.0.0.2"));
    EXPECT_EQ(gate->refused(), 2u);
    EXPECT_TRUE(closed.empty());
    ASSERT_EQ(logs.size(), 1u);  // throttled: once per second
    EXPECT_NE(logs[0].find("127.0.0.2:1234"), std::string::npos) << logs[0];
    a1->release();  // authenticated: its place is free
    EXPECT_EQ(gate->pending_from("127.0.0.2"), 1u);
    EXPECT_TRUE(admit("127.0.0.2"));
}

TEST_F(GateTest, AtTheTotalCapTheOldestOfTheBiggestAddressMakesRoom) {
    auto a1 = admit("127.0.0.2");
    auto b1 = admit("127.0.0.3");
    auto a2 = admit("127.0.0.2");
    auto c1 = admit("127.0.0.4");
    ASSERT_TRUE(a1 && b1 && a2 && c1);
    ASSERT_EQ(gate->pending(), 4u);
    auto newcomer = admit("127.0.0.9");  // a CLI from elsewhere still gets in
    ASSERT_TRUE(newcomer);
    EXPECT_EQ(closed, std::vector<std::string>{"127.0.0.2"});
    EXPECT_EQ(gate->pending(), 4u);
    EXPECT_EQ(gate->pending_from("127.0.0.2"), 1u);
    EXPECT_EQ(gate->evicted(), 1u);
    a1->release();  // the evicted one's slot: no effect on the count
    EXPECT_EQ(gate->pending(), 4u);
    { PendingSlot gone = std::move(*b1); }  // a connection that closed
    EXPECT_EQ(gate->pending(), 3u);
    EXPECT_EQ(gate->pending_from("127.0.0.3"), 0u);
}

TEST_F(GateTest, SheddingWithoutPendingConnectionsDoesNothing) {
    EXPECT_FALSE(gate->shed_one(now, "out of descriptors"));
    auto a = admit("127.0.0.2");
    ASSERT_TRUE(a);
    EXPECT_TRUE(gate->shed_one(now, "out of descriptors"));
    EXPECT_EQ(closed.size(), 1u);
    EXPECT_EQ(gate->pending(), 0u);
}

TEST(PendingGate, SlotsThatOutliveTheirGateAreInert) {
    auto gate = PendingGate::create({1, 1}, "test port", nullptr);
    auto slot = gate->admit(from("127.0.0.1"), SteadyClock::now(), nullptr);
    ASSERT_TRUE(slot);
    gate.reset();
    slot->release();
    EXPECT_FALSE(slot->held());
}

}  // namespace
}  // namespace dora
