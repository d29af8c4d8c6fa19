// Zenoh 0x09 transport messages (docs/zenoh-protocol.md section 3.1): INIT, OPEN, CLOSE,
// KEEP_ALIVE, FRAME, FRAGMENT, JOIN and transport OAM, as typed structs with encode and decode,
// plus a BatchDecoder that walks one batch: transport messages and, inside a FRAME, the network
// messages it carries.
//
// Decoded structs hold views into the batch; they are valid as long as the batch bytes are.
//
// Thread safety: values and plain functions; a BatchDecoder is used by one thread at a time.
#pragma once

#include <optional>
#include <variant>

#include "zenoh/codec.hpp"
#include "zenoh/network_msg.hpp"

namespace dora::zenoh {

enum class TransportId : uint8_t {
    kOam = 0x00,
    kInit = 0x01,
    kOpen = 0x02,
    kClose = 0x03,
    kKeepAlive = 0x04,
    kFrame = 0x05,
    kFragment = 0x06,
    kJoin = 0x07,
};

enum class WhatAmI : uint8_t { kRouter = 0, kPeer = 1, kClient = 2 };
[[nodiscard]] std::string_view to_string(WhatAmI w);

// Resolution byte: bits 1-0 frame SN, bits 3-2 request id; 2 = 32 bit (the default 0x0a).
inline constexpr uint8_t kDefaultResolution = 0x0a;
inline constexpr uint16_t kDefaultBatchSize = 65535;
// SN mask for a resolution code (0 = 8 bit ... 3 = 64 bit); frame SNs use 7 bits per byte.
[[nodiscard]] uint64_t sn_mask(uint8_t resolution);

// Close reasons.
inline constexpr uint8_t kCloseGeneric = 0;
inline constexpr uint8_t kCloseUnsupported = 1;
inline constexpr uint8_t kCloseInvalid = 2;
inline constexpr uint8_t kCloseMaxTransports = 3;
inline constexpr uint8_t kCloseMaxLinks = 4;
inline constexpr uint8_t kCloseExpired = 5;

struct Init {
    bool ack = false;
    uint8_t version = kProtocolVersion;
    WhatAmI whatami = WhatAmI::kPeer;
    Zid zid;
    uint8_t resolution = kDefaultResolution;  // S flag on the wire only when not default
    uint16_t batch_size = kDefaultBatchSize;
    bool explicit_sizes = false;  // S flag even for default sizes (decoded from the wire)
    Bytes cookie;                 // ack only
    bool qos = false;
    std::optional<uint64_t> patch;
};

struct Open {
    bool ack = false;
    uint64_t lease_ms = 10000;  // T flag (seconds) on the wire when a whole number of seconds
    uint64_t initial_sn = 0;
    Bytes cookie;  // syn only
    bool qos = false;
};

struct Close {
    uint8_t reason = kCloseGeneric;
    bool session = true;
};

struct KeepAlive {};

// FRAME header; the network messages follow up to the end of the batch (or a transport id).
struct FrameHeader {
    bool reliable = true;
    uint64_t sn = 0;
    std::optional<uint64_t> qos;  // ext 0x31, present only when QoS was negotiated
};

struct Fragment {
    bool reliable = true;
    bool more = false;
    uint64_t sn = 0;
    std::optional<uint64_t> qos;
    bool first = false;  // ext 0x02 (patch >= 1)
    bool drop = false;   // ext 0x03
    Bytes payload;       // up to the end of the batch
};

struct Join {
    uint8_t version = kProtocolVersion;
    WhatAmI whatami = WhatAmI::kPeer;
    Zid zid;
    uint8_t resolution = kDefaultResolution;
    uint16_t batch_size = kDefaultBatchSize;
    uint64_t lease_ms = 10000;
    uint64_t next_sn_reliable = 0;
    uint64_t next_sn_best_effort = 0;
    std::optional<uint64_t> patch;
    Bytes qos_sns;  // ext 0x51 raw
};

struct TransportOam {
    uint64_t id = 0;
    uint8_t encoding = kExtEncUnit;
    uint64_t value = 0;
    Bytes body;
};

void encode(Writer& w, const Init& m);
void encode(Writer& w, const Open& m);
void encode(Writer& w, const Close& m);
void encode(Writer& w, const KeepAlive& m);
void encode(Writer& w, const FrameHeader& m);
void encode(Writer& w, const Fragment& m);
void encode(Writer& w, const Join& m);
void encode(Writer& w, const TransportOam& m);

// Size of a fragment header (everything before its payload).
[[nodiscard]] size_t fragment_header_size(const Fragment& m);

// One item of a batch: a transport message, or a network message carried by the last FRAME.
struct FramedNetwork {
    FrameHeader frame;
    NetworkMessage message;
    Bytes raw;  // the encoded network message, for verbatim forwarding
};
using BatchItem = std::variant<Init, Open, Close, KeepAlive, FrameHeader, FramedNetwork, Fragment,
                               Join, TransportOam>;

// Walks one batch (without its TCP length prefix). A FRAME yields its FrameHeader, then one
// FramedNetwork per network message; the frame ends at the batch end or at a byte whose id is not
// a network id (Rust rule). An empty FRAME yields only its header.
class BatchDecoder {
  public:
    explicit BatchDecoder(Bytes batch, size_t base = 0) : reader_(batch, base) {}
    // nullopt at the end of the batch.
    [[nodiscard]] Result<std::optional<BatchItem>> next();

  private:
    [[nodiscard]] Result<BatchItem> transport();
    Reader reader_;
    std::optional<FrameHeader> frame_;
};

// Decodes a batch that must hold exactly one transport message (handshake helpers, tests).
[[nodiscard]] Result<BatchItem> decode_single(Bytes batch);

}  // namespace dora::zenoh
