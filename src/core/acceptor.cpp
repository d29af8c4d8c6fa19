#include "core/acceptor.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

namespace dora {

Acceptor::Acceptor(EventLoop& loop, AcceptorOptions options, OnAccept on_accept)
    : loop_(loop), options_(std::move(options)), on_accept_(std::move(on_accept)) {}

Result<std::unique_ptr<Acceptor>> Acceptor::start(EventLoop& loop, sys::UniqueFd listener,
                                                  AcceptorOptions options, OnAccept on_accept) {
    if (options.min_backoff.count() <= 0 || options.max_backoff < options.min_backoff) {
        return fail("accepting on {}: the back-off must be positive and min <= max", options.what);
    }
    std::unique_ptr<Acceptor> self(new Acceptor(loop, std::move(options), std::move(on_accept)));
    Acceptor* raw = self.get();
    auto watched = loop.watch(std::move(listener), EPOLLIN, [raw](uint32_t) { raw->on_ready(); });
    if (!watched) {
        return fail(watched.error());
    }
    self->watch_ = std::move(*watched);
    return self;
}

void Acceptor::on_ready() {
    for (int i = 0; i < options_.max_accepts_per_event; ++i) {
        auto accepted = net::accept_tcp(watch_.fd());
        if (!accepted) {
            const int code = accepted.error().code();
            if ((code == EMFILE || code == ENFILE) && options_.shed && options_.shed()) {
                ++failures_;
                continue;  // a pending stranger made room: accept again now
            }
            back_off(accepted.error());
            return;
        }
        if (!*accepted) {
            return;
        }
        delay_ = std::chrono::milliseconds(0);
        on_accept_(std::move(**accepted));
    }
}

void Acceptor::back_off(const Error& error) {
    ++failures_;
    delay_ =
        delay_.count() == 0 ? options_.min_backoff : std::min(delay_ * 2, options_.max_backoff);
    // epoll_ctl(MOD) on our own watched fd fails only once it is gone.
    (void)watch_.set_events(0);
    resume_ = loop_.add_timer(delay_, [this] { resume(); });
    if (auto held = throttle_.admit(loop_.now()); held && options_.log) {
        options_.log(fmt::format(
            "accepting on {}: {}; not accepting for {} ms ({} more such error(s) since the last "
            "report)",
            options_.what, error.message(), delay_.count(), *held));
    }
}

void Acceptor::resume() {
    (void)watch_.set_events(EPOLLIN);
    on_ready();
}

PendingSlot& PendingSlot::operator=(PendingSlot&& other) noexcept {
    if (this != &other) {
        release();
        gate_ = std::move(other.gate_);
        host_ = std::move(other.host_);
        id_ = other.id_;
        other.gate_.reset();
    }
    return *this;
}

void PendingSlot::release() {
    if (auto gate = gate_.lock()) {
        gate->release(host_, id_);
    }
    gate_.reset();
}

std::shared_ptr<PendingGate> PendingGate::create(PendingLimits limits, std::string what,
                                                 LogSink log) {
    return std::shared_ptr<PendingGate>(new PendingGate(limits, std::move(what), std::move(log)));
}

size_t PendingGate::pending_from(const std::string& host) const {
    auto it = per_host_.find(host);
    return it == per_host_.end() ? 0 : it->second.size();
}

void PendingGate::report(SteadyClock::time_point now, const std::string& line) {
    if (auto held = throttle_.admit(now); held && log_) {
        log_(fmt::format("{}: {} ({} more refused or closed since the last report)", what_, line,
                         *held));
    }
}

Result<PendingSlot> PendingGate::admit(const net::SocketAddress& peer, SteadyClock::time_point now,
                                       Close close) {
    std::string host = peer.host();
    const size_t from_host = pending_from(host);
    if (from_host >= limits_.per_address) {
        ++refused_;
        std::string why =
            fmt::format("{} connections from {} have not authenticated yet (the limit per address)",
                        from_host, host);
        report(now, fmt::format("closed the new connection from {}: {}", peer.to_string(), why));
        return fail("{}", why);
    }
    if (total_ >= limits_.total) {
        (void)shed_one(now, fmt::format("{} connections have not authenticated yet (the limit in "
                                        "all) and one from {} came",
                                        total_, host));
    }
    const uint64_t id = next_id_++;
    ++total_;
    per_host_[host].push_back(Entry{id, std::move(close)});
    return PendingSlot(weak_from_this(), std::move(host), id);
}

bool PendingGate::shed_one(SteadyClock::time_point now, std::string_view why) {
    auto victim = per_host_.end();
    for (auto it = per_host_.begin(); it != per_host_.end(); ++it) {
        if (victim == per_host_.end() || it->second.size() > victim->second.size() ||
            (it->second.size() == victim->second.size() &&
             it->second.front().id < victim->second.front().id)) {
            victim = it;
        }
    }
    if (victim == per_host_.end()) {
        return false;
    }
    Entry entry = std::move(victim->second.front());
    const std::string host = victim->first;
    victim->second.pop_front();
    if (victim->second.empty()) {
        per_host_.erase(victim);
    }
    --total_;
    ++evicted_;
    const std::string reason = fmt::format(
        "closed the oldest unauthenticated connection from {} (the address with the most): {}",
        host, why);
    report(now, reason);
    if (entry.close) {
        entry.close(reason);  // may release its slot: the entry is gone already, so a no-op
    }
    return true;
}

void PendingGate::release(const std::string& host, uint64_t id) {
    auto it = per_host_.find(host);
    if (it == per_host_.end()) {
        return;
    }
    auto& entries = it->second;
    auto entry =
        std::find_if(entries.begin(), entries.end(), [id](const Entry& e) { return e.id == id; });
    if (entry == entries.end()) {
        return;  // evicted already
    }
    entries.erase(entry);
    --total_;
    if (entries.empty()) {
        per_host_.erase(it);
    }
}

}  // namespace dora
