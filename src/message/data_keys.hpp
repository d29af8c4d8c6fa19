// What names the data plane's Zenoh traffic, shared by everyone who publishes or watches it (the
// daemons, the CLI's watchers, the coordinator's web view): the key of an output, and the marker
// that ends an output's stream.
//
// Thread safety: constants and a pure function.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dora::message {

// Every cluster's network id today (the `{network}` of the keys).
inline constexpr std::string_view kNetworkId = "default";

// `dora/{network_id}/{dataflow_id}/output/{node}/{output}`
[[nodiscard]] inline std::string output_key(std::string_view network_id,
                                            std::string_view dataflow_id, std::string_view node,
                                            std::string_view output) {
    return fmt::format("dora/{}/{}/output/{}/{}", network_id, dataflow_id, node, output);
}

// The attachment of the PUT that ends an output's stream (its node exited): one byte.
inline constexpr uint8_t kEndOfStreamMarker = 0xfe;

}  // namespace dora::message
