// CopyGaps: the receiver's side of numbered copies (Session::track_undelivered). A sender numbers
// the copies of a tracked key it writes to each link (SourceInfo sn), so a receiver that sees
// sn 7 after sn 4 from the same sender knows two copies were written and never arrived (a link
// that died with data in flight, a router that dropped them), and counts them. Copies the sender
// never wrote are not numbered: the sender counts those itself, so no loss is counted twice.
//
// The SourceInfo's eid says where the numbering starts: kCopiesFromOne (peer to peer: the sender
// numbers copies for this receiving session from 1, so copies lost before the first arrival are
// counted too) or kCopiesNumbered (through a router: the numbering is the sender's link to the
// router, so the first arrival from a sender only sets where counting starts). A put without a
// SourceInfo, or with another eid (a peer that does not number), counts nothing.
//
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "zenoh/codec.hpp"

namespace dora::zenoh {

// Entity ids a Zenoh publisher is unlikely to have (they count up from 0 in a session), two bytes
// on the wire.
inline constexpr uint64_t kCopiesFromOne = 0xd01;
inline constexpr uint64_t kCopiesNumbered = 0xd02;

class CopyGaps {
  public:
    // Copies of this key that went missing before this one (0 when none, or when unknown).
    uint64_t observe(const std::optional<EntityId>& source);

  private:
    struct Sender {
        Zid zid;
        uint64_t last = 0;
    };
    std::vector<Sender> senders_;  // few: the producers of one key over the run (restarts)
};

}  // namespace dora::zenoh
