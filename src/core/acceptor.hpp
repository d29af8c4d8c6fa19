// Accepting connections without being knocked over by them.
//
// Acceptor watches a listening socket and hands each accepted connection to its owner. When
// accept() fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM, or any other error) the
// listener stays readable, so retrying at once would spin: the Acceptor stops watching it for a
// delay that doubles per failure in a row (min_backoff .. max_backoff) and resumes after, and it
// logs the failure at most once per second with the number held back.
//
// PendingGate caps the connections that have not authenticated yet (a coordinator's peers before
// their hello, a Zenoh link before INIT/OPEN): in all, and per source address. admit() gives a
// PendingSlot, which counts until it is released (the peer authenticated) or destroyed (the
// connection closed). Over the per-address cap the new connection is refused (the owner closes
// it: the newest goes). At the total cap, room is made instead: the oldest pending connection of
// the address that holds the most is closed (through the `close` callback given to admit()), so
// strangers from a few addresses cannot keep out a CLI or daemon that proves itself within
// milliseconds. shed_one() does the same when the process is out of descriptors (an Acceptor
// calls it on EMFILE/ENFILE before backing off). Refusals and evictions are logged at most once
// per second, naming the address. Several listeners may share one gate (the coordinator's
// daemon and CLI ports).
//
// Thread safety: an Acceptor belongs to one EventLoop and runs on its thread; a PendingGate and
// its slots are used on that thread too (slots may outlive the gate: they are then inert).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/log_text.hpp"
#include "core/net.hpp"

namespace dora {

using LogSink = std::function<void(const std::string&)>;

struct AcceptorOptions {
    std::string what;  // named in log lines ("the coordinator's daemon port")
    std::chrono::milliseconds min_backoff{10};
    std::chrono::milliseconds max_backoff{1000};
    int max_accepts_per_event = 64;  // then the loop serves others before accepting more
    LogSink log;
    // Out of descriptors (EMFILE, ENFILE): called before backing off; true when it closed a
    // connection (a descriptor is free again), and accepting goes on at once.
    std::function<bool()> shed;
};

class Acceptor {
  public:
    using OnAccept = std::function<void(net::Accepted accepted)>;

    // Takes over the listening socket `listener` and watches it.
    [[nodiscard]] static Result<std::unique_ptr<Acceptor>> start(EventLoop& loop,
                                                                 sys::UniqueFd listener,
                                                                 AcceptorOptions options,
                                                                 OnAccept on_accept);
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    [[nodiscard]] int fd() const { return watch_.fd(); }
    // accept() failures so far, and whether accepting is paused now.
    [[nodiscard]] uint64_t failures() const { return failures_; }
    [[nodiscard]] bool paused() const { return resume_.active(); }

  private:
    Acceptor(EventLoop& loop, AcceptorOptions options, OnAccept on_accept);
    void on_ready();
    void back_off(const Error& error);
    void resume();

    EventLoop& loop_;
    AcceptorOptions options_;
    OnAccept on_accept_;
    FdWatch watch_;
    Timer resume_;
    std::chrono::milliseconds delay_{0};  // of the pause in force or the next one
    uint64_t failures_ = 0;
    LogThrottle throttle_;
};

struct PendingLimits {
    size_t total = 64;       // connections not yet authenticated, in all
    size_t per_address = 8;  // of them from one source address
};

class PendingGate;

// One connection counted as pending. Move-only; release() (or destruction) stops counting it.
class PendingSlot {
  public:
    PendingSlot() = default;
    PendingSlot(PendingSlot&& other) noexcept { *this = std::move(other); }
    PendingSlot& operator=(PendingSlot&& other) noexcept;
    PendingSlot(const PendingSlot&) = delete;
    PendingSlot& operator=(const PendingSlot&) = delete;
    ~PendingSlot() { release(); }

    void release();
    [[nodiscard]] bool held() const { return !gate_.expired(); }

  private:
    friend class PendingGate;
    PendingSlot(std::weak_ptr<PendingGate> gate, std::string host, uint64_t id)
        : gate_(std::move(gate)), host_(std::move(host)), id_(id) {}
    std::weak_ptr<PendingGate> gate_;
    std::string host_;
    uint64_t id_ = 0;
};

class PendingGate : public std::enable_shared_from_this<PendingGate> {
  public:
    // Closes a pending connection to make room; gets the reason.
    using Close = std::function<void(const std::string& why)>;

    // `what` names the listener(s) in log lines; `log` gets the (throttled) refusals.
    [[nodiscard]] static std::shared_ptr<PendingGate> create(PendingLimits limits, std::string what,
                                                             LogSink log);

    // A slot for one more connection from `peer` (closed through `close` should room be needed
    // for another), or an error naming the cap that is reached (also logged, throttled). `now`
    // is the owner's clock (the loop's).
    [[nodiscard]] Result<PendingSlot> admit(const net::SocketAddress& peer,
                                            SteadyClock::time_point now, Close close);
    // Closes the oldest pending connection of the address that holds the most; false if none.
    bool shed_one(SteadyClock::time_point now, std::string_view why);

    [[nodiscard]] size_t pending() const { return total_; }
    [[nodiscard]] size_t pending_from(const std::string& host) const;
    [[nodiscard]] uint64_t refused() const { return refused_; }
    [[nodiscard]] uint64_t evicted() const { return evicted_; }
    [[nodiscard]] const PendingLimits& limits() const { return limits_; }

  private:
    friend class PendingSlot;
    struct Entry {
        uint64_t id = 0;
        Close close;
    };
    PendingGate(PendingLimits limits, std::string what, LogSink log)
        : limits_(limits), what_(std::move(what)), log_(std::move(log)) {}
    void release(const std::string& host, uint64_t id);
    void report(SteadyClock::time_point now, const std::string& line);

    PendingLimits limits_;
    std::string what_;
    LogSink log_;
    size_t total_ = 0;
    uint64_t next_id_ = 1;  // ids grow with time: the smallest is the oldest
    std::map<std::string, std::deque<Entry>, std::less<>> per_host_;
    uint64_t refused_ = 0;
    uint64_t evicted_ = 0;
    LogThrottle throttle_;
};

}  // namespace dora
