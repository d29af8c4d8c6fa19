// What names the data plane's Zenoh traffic, shared by everyone who publishes or watches it (the
// daemons, the CLI's watchers, the coordinator's web view): the key of an output, and the marker
// that ends an output's stream.
//
// Thread safety: constants and pure functions.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dora::message {

// Every cluster's network id today (the `{network}` of the keys).
inline constexpr std::string_view kNetworkId = "default";

// `dora/{network_id}/{dataflow_id}/output/{node}/{output}`
[[nodiscard]] inline std::string output_key(std::string_view network_id,
                                            std::string_view dataflow_id, std::string_view node,
                                            std::string_view output) {
    return fmt::format("dora/{}/{}/output/{}/{}", network_id, dataflow_id, node, output);
}

// The attachment of the PUT that ends an output's stream (its node exited): this byte, then
// HMAC-SHA256 over the output's key under the dataflow's data secret (a random secret the
// coordinator gives every daemon of the dataflow over the authenticated control connection). Only
// a daemon of the dataflow can end a stream; whoever can merely publish on the key cannot. A
// message's metadata never starts with this byte (it starts with its encoding version, 1).
inline constexpr uint8_t kEndOfStreamMarker = 0xfe;
inline constexpr size_t kEndOfStreamSize = 33;

// The end-of-stream attachment of `key` under `data_secret`.
[[nodiscard]] std::vector<uint8_t> end_of_stream_attachment(std::string_view data_secret,
                                                            std::string_view key);

// True when `attachment` has the form of an end-of-stream attachment (a watcher, who has no
// secret, takes it as the end; a daemon compares it with end_of_stream_attachment).
[[nodiscard]] inline bool looks_like_end_of_stream(std::span<const uint8_t> attachment) {
    return attachment.size() == kEndOfStreamSize && attachment[0] == kEndOfStreamMarker;
}

}  // namespace dora::message
