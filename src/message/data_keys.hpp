// What names the data plane's Zenoh traffic, shared by everyone who publishes or watches it (the
// daemons, the CLI's watchers, the coordinator's web view): the key of an output, and the marker
// that ends an output's stream.
//
// Thread safety: constants and pure functions; a StreamEndSigner or StreamEndVerifier may be used
// from several threads at once (each call has its own OpenSSL context).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace dora::message {

// Every cluster's network id today (the `{network}` of the keys).
inline constexpr std::string_view kNetworkId = "default";

// `dora/{network_id}/{dataflow_id}/output/{node}/{output}`
[[nodiscard]] inline std::string output_key(std::string_view network_id,
                                            std::string_view dataflow_id, std::string_view node,
                                            std::string_view output) {
    return fmt::format("dora/{}/{}/output/{}/{}", network_id, dataflow_id, node, output);
}

// The attachment of the PUT that ends an output's stream (its node exited): this byte, then an
// Ed25519 signature over kStreamEndContext and the output's key, made with the key of the daemon
// that runs the producer. Each daemon makes its key pair when it starts and gives the coordinator
// the public half when it registers (over the authenticated control connection); the coordinator
// hands every daemon of a dataflow the public keys of the dataflow's machines
// (PrepareDataflow::stream_end_keys). So a daemon accepts an end only from the daemon that runs
// the producer: whoever can merely publish on the key, another daemon of the cluster included,
// cannot make one. A message's metadata never starts with this byte (it starts with its encoding
// version, 1).
inline constexpr uint8_t kEndOfStreamMarker = 0xfe;
inline constexpr size_t kEndOfStreamSize = 65;
// What a stream-end signature signs before the key: a signature made for anything else with the
// same key pair can never pass as one.
inline constexpr std::string_view kStreamEndContext = "dora end of stream v1";

// A daemon's key pair for the ends of its nodes' streams. Copies share the key.
class StreamEndSigner {
  public:
    // A fresh key pair.
    [[nodiscard]] static Result<StreamEndSigner> generate();
    // The public key as 64 hex characters (DaemonRegister::stream_end_key).
    [[nodiscard]] const std::string& public_key() const { return public_key_; }
    // The end-of-stream attachment of output key `key`.
    [[nodiscard]] std::vector<uint8_t> end_of_stream(std::string_view key) const;

  private:
    std::shared_ptr<evp_pkey_st> key_;
    std::string public_key_;
};

// Checks ends of stream against the public key of the producer's daemon.
class StreamEndVerifier {
  public:
    // `public_key`: 64 hex characters, as StreamEndSigner::public_key gives it.
    [[nodiscard]] static Result<StreamEndVerifier> from_public_key(std::string_view public_key);
    // True when `attachment` is the end of the stream of `key`, signed by this key's daemon.
    [[nodiscard]] bool verify(std::string_view key, std::span<const uint8_t> attachment) const;

  private:
    std::shared_ptr<evp_pkey_st> key_;
};

// True when `attachment` has the form of an end-of-stream attachment (a watcher, who has no
// daemon's key, takes it as the end; a daemon checks the signature with StreamEndVerifier).
[[nodiscard]] inline bool looks_like_end_of_stream(std::span<const uint8_t> attachment) {
    return attachment.size() == kEndOfStreamSize && attachment[0] == kEndOfStreamMarker;
}

}  // namespace dora::message
