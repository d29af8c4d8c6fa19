#include "cli/ship.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "cli/watch.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
// A transfer this large gets progress lines even when stderr is not a terminal.
constexpr uint64_t kProgressBytes = uint64_t{16} << 20;
// How long the CLI waits for one acknowledgement (a daemon writing a chunk to its disk).
constexpr auto kAckTimeout = std::chrono::seconds(120);

// Bytes sent of the total, on stderr: a live line on a terminal, else one per quarter of a large
// transfer.
class Progress {
  public:
    explicit Progress(uint64_t total)
        : total_(total), terminal_(::isatty(STDERR_FILENO) != 0), started_(Clock::now()) {}

    void sent(uint64_t bytes) {
        done_ += bytes;
        if (terminal_ && Clock::now() - last_ >= std::chrono::milliseconds(200)) {
            last_ = Clock::now();
            std::cerr << "\r\033[K" << line() << std::flush;
        } else if (!terminal_ && total_ >= kProgressBytes) {
            const uint64_t quarter = done_ * 4 / std::max<uint64_t>(total_, 1);
            if (quarter > quarters_) {
                quarters_ = quarter;
                std::cerr << line() << "\n";
            }
        }
    }

    void finish() {
        if (terminal_) {
            std::cerr << "\r\033[K";
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        std::cerr << fmt::format("sent {} in {:.1f} s", byte_size_text(static_cast<double>(done_)),
                                 seconds)
                  << std::endl;
    }

  private:
    [[nodiscard]] std::string line() const {
        return fmt::format("sending files: {} of {}", byte_size_text(static_cast<double>(done_)),
                           byte_size_text(static_cast<double>(total_)));
    }

    uint64_t total_;
    uint64_t done_ = 0;
    uint64_t quarters_ = 0;
    bool terminal_;
    Clock::time_point started_;
    Clock::time_point last_{};
};

std::string machine_list(const std::vector<std::string>& machines) {
    std::string out;
    for (const auto& m : machines) {
        out += (out.empty() ? "`" : ", `") + (m.empty() ? std::string("default") : m) + "`";
    }
    return out;
}

// The next message from the coordinator before `deadline`; an error when none came, saying
// `what` it was waiting for ("about the dataflow's files").
Result<message::CoordinatorToCli> next_message(CoordinatorClient& client,
                                               Clock::time_point deadline, std::string_view what) {
    const auto start = Clock::now();
    auto m = client.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - start, Clock::duration::zero())));
    if (!m) {
        return fail(m.error());
    }
    if (!*m) {
        return fail("no answer {} from the coordinator at {} in time", what, client.where());
    }
    return std::move(**m);
}

// Reads one file of the manifest in chunks, hashing what it reads; the last chunk is given only
// once the hash matches the manifest's.
class ChunkReader {
  public:
    ChunkReader(const fs::path& root, const deploy::FileEntry& entry)
        : entry_(entry), path_(root / entry.path), in_(path_, std::ios::binary) {}

    // The next chunk; the file's last one only if the whole file hashes to the manifest's
    // SHA-256. An empty file has one empty chunk.
    Result<std::vector<std::byte>> next() {
        if (!in_) {
            return fail("cannot read {} to send it: start again once it is back", path_.string());
        }
        const uint64_t left = entry_.size - offset_;
        std::vector<std::byte> chunk(std::min<uint64_t>(left, message::kFileChunkBytes));
        in_.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
        if (static_cast<uint64_t>(in_.gcount()) != chunk.size()) {
            return changed("it is shorter now");
        }
        digest_.update(chunk);
        offset_ += chunk.size();
        if (offset_ == entry_.size && digest_.finish() != entry_.sha256) {
            return changed("its content is not what it was");
        }
        return chunk;
    }

    [[nodiscard]] uint64_t offset() const { return offset_; }
    [[nodiscard]] bool done() const { return offset_ == entry_.size; }

  private:
    Result<std::vector<std::byte>> changed(const char* how) {
        return fail(
            "{} changed while the dataflow's files were sent ({}): nothing was started; start "
            "again once it no longer changes (or add it to .doraignore if the nodes do not need "
            "it)",
            path_.string(), how);
    }

    const deploy::FileEntry& entry_;
    fs::path path_;
    std::ifstream in_;
    uint64_t offset_ = 0;
    deploy::Sha256Stream digest_;
};

}  // namespace

void add_ship_options(CLI::App* command, ShipOptions& options) {
    command->add_flag("--no-ship", options.no_ship,
                      "Send no files: machines other than this one need the node files in "
                      "place (an absolute `working_dir`), as before file shipping");
    command
        ->add_option("--ship-limit", options.limit,
                     "At most this much of the dataflow's directory travels to the machines "
                     "(K, M, G suffixes)")
        ->capture_default_str();
}

Result<uint64_t> parse_byte_size(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    int shift = -1;
    if (unit.empty() || unit == "B") shift = 0;
    if (unit == "K" || unit == "KiB") shift = 10;
    if (unit == "M" || unit == "MiB") shift = 20;
    if (unit == "G" || unit == "GiB") shift = 30;
    if (ec != std::errc() || shift < 0 || value > (UINT64_MAX >> shift)) {
        return fail("`{}` is not a size: give bytes, or a number with K, M or G (e.g. 512M)",
                    std::string(text));
    }
    return value << shift;
}

Result<std::optional<deploy::Manifest>> dataflow_manifest(const fs::path& dataflow_file,
                                                          const ShipOptions& options) {
    if (options.no_ship) {
        return std::optional<deploy::Manifest>();
    }
    auto limit = parse_byte_size(options.limit);
    if (!limit) {
        return fail(limit.error().context("--ship-limit"));
    }
    deploy::ManifestLimits limits;
    limits.max_total_bytes = *limit;
    auto manifest = deploy::build_manifest(dataflow_file.parent_path(), limits);
    if (!manifest) {
        return fail(
            "{}; or start with --no-ship to send no files (then machines other than "
            "this one need the node files in place)",
            manifest.error().message());
    }
    return std::optional<deploy::Manifest>(std::move(*manifest));
}

Result<> send_files(const fs::path& root, const deploy::Manifest& manifest,
                    const std::vector<std::string>& wanted, const std::string& transfer,
                    ChunkLink& link) {
    std::map<std::string, const deploy::FileEntry*> by_hash;
    for (const auto& file : manifest.files) {
        by_hash.emplace(file.sha256, &file);
    }
    uint64_t total = 0;
    for (const auto& sha : wanted) {
        auto it = by_hash.find(sha);
        if (it == by_hash.end()) {
            return fail("the coordinator asked for a file this dataflow does not have ({})", sha);
        }
        total += it->second->size;
    }
    Progress progress(total);
    size_t in_flight = 0;
    auto await_one = [&]() -> Result<> {
        auto ack = link.next_ack();
        if (!ack) {
            return fail(ack.error());
        }
        if (!ack->error.empty()) {
            return fail("{}", ack->error);
        }
        --in_flight;
        return {};
    };
    for (const auto& sha : wanted) {
        const deploy::FileEntry& entry = *by_hash[sha];
        ChunkReader reader(root, entry);
        do {
            const uint64_t offset = reader.offset();
            auto chunk = reader.next();
            if (!chunk) {
                return fail(chunk.error());
            }
            if (in_flight >= message::kFileChunkWindow) {
                if (auto ok = await_one(); !ok) {
                    return ok;
                }
            }
            if (auto ok = link.send(
                    message::CliFileChunk{transfer, sha, offset, deploy::base64_encode(*chunk)});
                !ok) {
                return ok;
            }
            ++in_flight;
            progress.sent(chunk->size());
        } while (!reader.done());
    }
    while (in_flight > 0) {
        if (auto ok = await_one(); !ok) {
            return ok;
        }
    }
    if (!wanted.empty()) {
        progress.finish();
    }
    return {};
}

Result<message::StartTriggered> start_with_files(CoordinatorClient& client, message::CliStart start,
                                                 const std::function<nlohmann::json()>& manifest) {
    if (auto ok = client.send(start); !ok) {
        return fail(ok.error());
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
        auto m = next_message(client, deadline, "to the start");
        if (!m) {
            return fail(m.error());
        }
        if (auto* triggered = std::get_if<message::StartTriggered>(&*m)) {
            return std::move(*triggered);
        }
        if (auto* error = std::get_if<message::ErrorMessage>(&*m)) {
            return fail("{}", error->message);
        }
        if (auto* needed = std::get_if<message::ManifestNeeded>(&*m);
            needed && start.files.is_null()) {
            start.files = manifest();
            if (auto ok = client.send(start); !ok) {
                return fail(ok.error());
            }
        }
    }
}

void ship_dataflow_files(CoordinatorClient& client, const std::string& transfer,
                         const fs::path& root, const deploy::Manifest& manifest,
                         const std::function<void(const message::CoordinatorToCli&)>& other) {
    // Waits for a message of type T about this transfer; others go to `other`.
    auto wait_for = [&]<typename T>(std::chrono::seconds timeout) -> Result<T> {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            auto m = next_message(client, deadline, "about the dataflow's files");
            if (!m) {
                return fail(m.error());
            }
            if (auto* wanted = std::get_if<T>(&*m); wanted && wanted->transfer == transfer) {
                return std::move(*wanted);
            }
            if (auto* error = std::get_if<message::ErrorMessage>(&*m)) {
                return fail("{}", error->message);
            }
            other(*m);
        }
    };
    auto send = or_throw(wait_for.template operator()<message::SendFiles>(kAckTimeout));
    if (!send.local_machines.empty()) {
        std::cerr << "machine(s) " << machine_list(send.local_machines) << " run nodes in "
                  << root.string() << " (this machine)" << std::endl;
    }
    if (send.sha256.empty()) {
        if (!send.machines.empty()) {
            std::cerr << "nothing to send: " << machine_list(send.machines)
                      << " have the dataflow's " << manifest.files.size() << " file(s) already"
                      << std::endl;
        }
        return;
    }
    std::map<std::string, uint64_t> sizes;
    for (const auto& file : manifest.files) {
        sizes[file.sha256] = file.size;
    }
    uint64_t bytes = 0;
    for (const auto& sha : send.sha256) {
        bytes += sizes[sha];
    }
    std::cerr << fmt::format("sending {} of the dataflow's {} file(s) ({} bytes) to {}",
                             send.sha256.size(), manifest.files.size(), bytes,
                             machine_list(send.machines))
              << std::endl;
    ChunkLink link;
    link.send = [&client](message::CliFileChunk chunk) { return client.send(chunk); };
    link.next_ack = [&]() {
        return wait_for.template operator()<message::FileChunkAck>(kAckTimeout);
    };
    or_throw(send_files(root, manifest, send.sha256, transfer, link));
}

}  // namespace dora::cli
