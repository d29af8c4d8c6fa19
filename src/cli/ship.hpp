// The CLI's end of file shipping (issue 15): `dora start` sends the machines that run its nodes
// the files of the dataflow file's directory (deploy/manifest.hpp says which: everything but
// `.git/`, `out/`, build output and what `.doraignore` leaves out). The manifest travels with the
// start; once the coordinator says which files the daemons lack (SendFiles), they go in chunks
// of message::kFileChunkBytes over this authenticated control connection, a few in flight at a
// time, each acknowledged once every daemon that needs it has stored it. A file that changed
// since the manifest was made is caught here (its hash is checked as it is read) and again by the
// daemon. Progress goes to stderr: a live line on a terminal, a line per quarter otherwise for
// large transfers.
//
// Thread safety: none needed; used by the CLI's one thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cli/coordinator_client.hpp"
#include "deploy/manifest.hpp"

namespace dora::cli {

struct ShipOptions {
    bool no_ship = false;
    std::string limit = "256M";  // --ship-limit
};

// Adds --no-ship and --ship-limit to `command`.
void add_ship_options(CLI::App* command, ShipOptions& options);

// "256M", "1G", "500K", "1048576" -> bytes (K, M, G are powers of 1024).
[[nodiscard]] Result<uint64_t> parse_byte_size(std::string_view text);

// The manifest of the directory of `dataflow_file`, or none with --no-ship. Errors (a symlink out
// of the directory, over the limit naming the largest files) say what to do.
[[nodiscard]] Result<std::optional<deploy::Manifest>> dataflow_manifest(
    const std::filesystem::path& dataflow_file, const ShipOptions& options);

// Sends one chunk; waits for one acknowledgement: the transport, so tests can run the sender
// without a coordinator.
struct ChunkLink {
    std::function<Result<>(message::CliFileChunk)> send;
    // The next acknowledgement (an error when the coordinator reports one or is gone).
    std::function<Result<message::FileChunkAck>()> next_ack;
};

// Sends the files of `manifest` (under `root`) whose hashes are in `wanted`, chunk by chunk, at
// most message::kFileChunkWindow unacknowledged. Errors: a file that cannot be read or changed
// since the manifest was made (named, with what to do), a refused chunk (the coordinator's text
// names the machine).
[[nodiscard]] Result<> send_files(const std::filesystem::path& root,
                                  const deploy::Manifest& manifest,
                                  const std::vector<std::string>& wanted,
                                  const std::string& transfer, ChunkLink& link);

// Sends `start` and waits for StartTriggered; when the coordinator answers ManifestNeeded (nodes
// run on other machines), sends it again with `manifest()` as its files.
[[nodiscard]] Result<message::StartTriggered> start_with_files(
    CoordinatorClient& client, message::CliStart start,
    const std::function<nlohmann::json()>& manifest);

// `dora start`'s part after StartTriggered: waits for SendFiles, says what is sent where, sends
// it; `other` gets every other message meanwhile (log lines, a failed result: it may throw).
void ship_dataflow_files(CoordinatorClient& client, const std::string& transfer,
                         const std::filesystem::path& root, const deploy::Manifest& manifest,
                         const std::function<void(const message::CoordinatorToCli&)>& other);

}  // namespace dora::cli
