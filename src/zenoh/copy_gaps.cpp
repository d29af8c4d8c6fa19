#include "zenoh/copy_gaps.hpp"

#include <algorithm>

namespace dora::zenoh {

namespace {
// A key has one producer; over a run, its daemon's restarts add a few more senders.
constexpr size_t kMaxSenders = 64;
}  // namespace

uint64_t CopyGaps::observe(const std::optional<EntityId>& source) {
    if (!source || !source->sn ||
        (source->eid != kCopiesFromOne && source->eid != kCopiesNumbered)) {
        return 0;
    }
    const uint64_t sn = *source->sn;
    auto it = std::find_if(senders_.begin(), senders_.end(),
                           [&](const Sender& s) { return s.zid == source->zid; });
    if (it == senders_.end()) {
        if (senders_.size() >= kMaxSenders) {
            return 0;  // a flood of made-up senders: not worth remembering
        }
        senders_.push_back(Sender{source->zid, sn});
        return source->eid == kCopiesFromOne && sn > 1 ? sn - 1 : 0;
    }
    // Links keep order, so an sn at or below the last one is a sender that numbered anew (it
    // cannot be: a zid lives as long as its session) or a forged one: counted as nothing.
    const uint64_t missing = sn > it->last + 1 ? sn - it->last - 1 : 0;
    it->last = std::max(it->last, sn);
    return missing;
}

}  // namespace dora::zenoh
