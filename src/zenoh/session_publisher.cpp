// Session: the cross-thread Publisher (session.hpp). Other threads append to one queue under a
// mutex; when the loop sleeps, the publishing thread drains the queue itself in the loop's place
// (EventLoop::try_borrow); otherwise the first batch after a drain posts the drain to the loop,
// later ones ride along.
#include <atomic>
#include <mutex>

#include "zenoh/session.hpp"

namespace dora::zenoh {

namespace {
// How soon a drain looks again while a `wait` sample waits for a link to write its backlog.
constexpr auto kPublishRetry = std::chrono::microseconds(200);
}  // namespace

struct Publisher::Queue {
    EventLoop* loop = nullptr;
    Session* session = nullptr;
    std::mutex mutex;  // guards items, scheduled and closed
    std::vector<OutgoingSample> items;
    bool scheduled = false;  // a drain is posted and has not taken the items yet
    bool closed = false;     // the session is gone: nothing is posted any more
    std::atomic<size_t> queued{0};
};

namespace {

void release_all(std::vector<OutgoingSample>& samples) {
    for (auto& s : samples) {
        if (s.release) {
            s.release();
        }
    }
}

}  // namespace

Result<> Publisher::publish(std::vector<OutgoingSample> samples) const {
    if (!queue_) {
        release_all(samples);
        return fail("zenoh publisher: not attached to a session");
    }
    if (samples.empty()) {
        return {};
    }
    Queue& q = *queue_;
    std::unique_lock lock(q.mutex);
    if (q.closed) {
        lock.unlock();
        release_all(samples);
        return fail("zenoh publisher: the session is closed");
    }
    q.queued.fetch_add(samples.size(), std::memory_order_relaxed);
    if (q.items.empty()) {
        q.items = std::move(samples);
    } else {
        q.items.insert(q.items.end(), std::make_move_iterator(samples.begin()),
                       std::make_move_iterator(samples.end()));
    }
    if (!q.scheduled) {
        // The loop sleeps: put the samples from this thread in its place (no wake-up of the loop
        // on the way to the link). The lease is taken under the lock, so the session is open and
        // stays so until the lease ends; the drain takes the lock itself.
        if (auto lease = q.loop->try_borrow()) {
            Session* session = q.session;
            lock.unlock();
            session->drain_publish_queue();
            return {};  // the lease flushes the links as it ends
        }
        q.scheduled = true;
        // Posted under the lock: once the session closed the queue, nothing reaches its loop.
        q.loop->post([queue = queue_] {
            std::unique_lock inner(queue->mutex);
            if (!queue->closed) {
                Session* session = queue->session;
                inner.unlock();
                session->drain_publish_queue();
            }
        });
    }
    return {};
}

size_t Publisher::queued() const {
    return queue_ ? queue_->queued.load(std::memory_order_relaxed) : 0;
}

Publisher Session::publisher() {
    if (!publish_queue_) {
        publish_queue_ = std::make_shared<Publisher::Queue>();
        publish_queue_->loop = &loop_;
        publish_queue_->session = this;
    }
    return Publisher(publish_queue_);
}

void Session::flush_publishers() {
    if (publish_queue_) {
        drain_publish_queue();  // a drain already posted then finds nothing, harmlessly
    }
}

void Session::drain_publish_queue() {
    std::vector<OutgoingSample> batch;
    {
        std::lock_guard lock(publish_queue_->mutex);
        batch.swap(publish_queue_->items);
        publish_queue_->scheduled = false;
    }
    size_t done = 0;
    for (; done < batch.size(); ++done) {
        auto& s = batch[done];
        if (s.wait && links_congested()) {
            break;
        }
        count_undelivered_ = s.counted;
        auto sent = put(s.key, s.payload, std::nullopt, s.attachment);
        count_undelivered_ = true;
        if (!sent) {
            log(fmt::format("zenoh publisher: sample on '{}' dropped: {}", escape_for_log(s.key),
                            escape_for_log(sent.error().message())));
        }
        if (s.release) {
            s.release();
        }
        publish_queue_->queued.fetch_sub(1, std::memory_order_relaxed);
    }
    if (done == batch.size()) {
        return;
    }
    // The rest waits, in order, ahead of what was handed over meanwhile; look again soon (the
    // links' writes and the receivers' reads are not announced).
    {
        std::lock_guard lock(publish_queue_->mutex);
        auto& items = publish_queue_->items;
        items.insert(items.begin(),
                     std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(done)),
                     std::make_move_iterator(batch.end()));
    }
    if (!publish_retry_.active()) {
        publish_retry_ = loop_.add_timer(kPublishRetry, [this] { drain_publish_queue(); });
    }
}

bool Session::links_congested() const {
    for (const auto& [id, face] : faces_) {
        if (face.transport->state() == Transport::State::kEstablished &&
            face.transport->pending_bytes() > kPublishHoldBytes) {
            return true;
        }
    }
    return false;
}

void Session::hold_reading() {
    if (reading_holds_++ > 0) {
        return;
    }
    for (auto& [id, face] : faces_) {
        face.transport->set_reading(false);
    }
}

void Session::release_reading() {
    if (reading_holds_ == 0 || --reading_holds_ > 0) {
        return;
    }
    for (auto& [id, face] : faces_) {
        face.transport->set_reading(true);
    }
}

void Session::close_publish_queue() {
    if (!publish_queue_) {
        return;
    }
    std::vector<OutgoingSample> left;
    {
        std::lock_guard lock(publish_queue_->mutex);
        publish_queue_->closed = true;
        left.swap(publish_queue_->items);
    }
    publish_queue_->queued.fetch_sub(left.size(), std::memory_order_relaxed);
    release_all(left);
}

}  // namespace dora::zenoh
