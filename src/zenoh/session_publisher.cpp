// Session: the cross-thread Publisher (session.hpp). Other threads append to one queue under a
// mutex; the first batch after a drain posts the drain to the loop, later ones ride along.
#include <atomic>
#include <mutex>

#include "zenoh/session.hpp"

namespace dora::zenoh {

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
    for (auto& s : batch) {
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
