// Zenoh 0x09 message bodies carried by network messages (docs/zenoh-protocol.md sections 4.4, 4.5):
// PUT and DEL inside PUSH (and REPLY), QUERY inside REQUEST, REPLY and ERR inside RESPONSE.
//
// Decoded structs hold views into the decoded buffer; encode writes from views, so a message can
// be encoded from caller-owned payload bytes without copying them first.
//
// Thread safety: values and plain functions.
#pragma once

#include <optional>
#include <variant>

#include "zenoh/codec.hpp"

namespace dora::zenoh {

enum class BodyId : uint8_t { kPut = 0x01, kDel = 0x02, kQuery = 0x03, kReply = 0x04, kErr = 0x05 };

// SourceInfo extension (0x41): the publishing entity and its sequence number.
using SourceInfo = EntityId;

struct Put {
    std::optional<Timestamp> timestamp;
    std::optional<Encoding> encoding;
    std::optional<SourceInfo> source_info;
    std::optional<Bytes> attachment;  // ext 0x43
    Bytes payload;
};

struct Del {
    std::optional<Timestamp> timestamp;
    std::optional<SourceInfo> source_info;
    std::optional<Bytes> attachment;  // ext 0x42
};

using PushBody = std::variant<Put, Del>;

struct Query {
    std::optional<uint8_t> consolidation;  // forwarded verbatim: pico and Rust codes differ
    std::optional<std::string_view> parameters;
    std::optional<SourceInfo> source_info;
    std::optional<Bytes> value;       // ext 0x43 raw: encoding + payload
    std::optional<Bytes> attachment;  // ext 0x45
};

struct Reply {
    std::optional<uint8_t> consolidation;
    PushBody body;
};

struct Err {
    std::optional<Encoding> encoding;
    std::optional<SourceInfo> source_info;
    Bytes payload;
};

using ResponseBody = std::variant<Reply, Err>;

[[nodiscard]] Result<PushBody> decode_push_body(Reader& r);
[[nodiscard]] Result<Query> decode_query(Reader& r);
[[nodiscard]] Result<ResponseBody> decode_response_body(Reader& r);

void encode(Writer& w, const Put& m);
void encode(Writer& w, const Del& m);
void encode(Writer& w, const PushBody& m);
void encode(Writer& w, const Query& m);
void encode(Writer& w, const ResponseBody& m);

}  // namespace dora::zenoh
