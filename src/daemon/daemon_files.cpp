// The daemon's part of file shipping (issue 15): a dataflow started on another machine brings the
// files of its directory. The daemon keeps them by content in `<work dir>/files` (a file's bytes
// under their SHA-256, so a second start, or another dataflow with the same files, sends nothing
// again), verifies each on arrival, and copies the dataflow's files into `<work dir>/<dataflow
// id>`, the dataflow's directory here: relative `path:`s and `working_dir`s resolve inside that
// copy, an absolute `working_dir` stays what it names. Nothing is written outside the work
// directory: every path is checked (no absolute path, no `..`) and the copy is made in a fresh
// directory this daemon creates, so no symlink can be on the way.
#include <algorithm>

#include "core/sys.hpp"
#include "daemon/daemon.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

namespace {

std::string files_text(uint64_t files, uint64_t bytes) {
    return fmt::format("{} file{} ({} bytes)", files, files == 1 ? "" : "s", bytes);
}

// The manifest's paths of the file that hashes to `sha256` ("a.py, copy/a.py").
std::string paths_of(const deploy::Manifest& manifest, const std::string& sha256) {
    std::string out;
    for (const auto& file : manifest.files) {
        if (file.sha256 == sha256) {
            out += (out.empty() ? "" : ", ") + file.path;
        }
    }
    return out.empty() ? sha256 : out;
}

}  // namespace

void Daemon::receive_files_then_prepare(const message::PrepareDataflow& request) {
    message::PrepareDataflow stripped = request;  // kept (and reported) without its files
    stripped.files = nullptr;
    const std::string& id = request.dataflow_id;
    auto refuse = [&](const std::string& why) {
        link_->send(message::make(message::FilesNeeded{id, {}, false}));
        link_->send(message::make(message::DataflowPrepared{
            id, false, fmt::format("machine `{}`: {}", options_.machine_id, why)}));
    };
    if (request.cli_machine == sys::machine_identity()) {
        // The CLI's machine: the dataflow's own directory is here; nothing to copy.
        link_->send(message::make(message::FilesNeeded{id, {}, true}));
        load_then_prepare(stripped);
        return;
    }
    auto manifest = deploy::manifest_from_json(request.files);
    if (!manifest) {
        refuse(manifest.error().message());
        return;
    }
    if (!file_store_) {
        auto store = deploy::FileStore::open(options_.work_dir / "files");
        if (!store) {
            refuse(store.error().message());
            return;
        }
        file_store_.emplace(std::move(*store));
    }
    Incoming incoming{std::move(stripped), std::move(*manifest), {}, 0, 0};
    for (const auto& sha : file_store_->missing(incoming.manifest)) {
        auto file = std::find_if(incoming.manifest.files.begin(), incoming.manifest.files.end(),
                                 [&sha](const deploy::FileEntry& f) { return f.sha256 == sha; });
        incoming.missing[sha] = file->size;
    }
    std::vector<std::string> missing;
    for (const auto& [sha, size] : incoming.missing) {
        missing.push_back(sha);
    }
    link_->send(message::make(message::FilesNeeded{id, missing, false}));
    if (missing.empty()) {
        files_ready(incoming.request, incoming.manifest, 0, 0);
        return;
    }
    uint64_t bytes = 0;
    for (const auto& [sha, size] : incoming.missing) {
        bytes += size;
    }
    say(fmt::format("dataflow {}: receiving {} of its {} files", id,
                    files_text(missing.size(), bytes), incoming.manifest.files.size()));
    incoming_.emplace(id, std::move(incoming));
}

void Daemon::handle(const message::FileChunk& m) {
    auto stored = [&](const std::string& error) {
        link_->send(message::make(message::FileChunkStored{m.transfer, m.sha256, m.offset, error}));
    };
    auto it = incoming_.find(m.transfer);
    if (it == incoming_.end()) {
        stored(fmt::format("it expects no files for dataflow {} (stopped meanwhile?)", m.transfer));
        return;
    }
    Incoming& incoming = it->second;
    auto missing = incoming.missing.find(m.sha256);
    if (missing == incoming.missing.end()) {
        stored(fmt::format("it did not ask for file {} of dataflow {}", m.sha256, m.transfer));
        return;
    }
    auto bytes = deploy::base64_decode(m.data);
    Result<bool> whole = bytes ? file_store_->receive(m.sha256, missing->second, m.offset, *bytes)
                               : Result<bool>(fail(bytes.error()));
    if (!whole) {
        const std::string error =
            fmt::format("file {} of dataflow {}: {}", paths_of(incoming.manifest, m.sha256),
                        m.transfer, whole.error().message());
        say(error);
        incoming_.erase(it);
        stored(error);
        return;
    }
    stored("");
    if (!*whole) {
        return;
    }
    incoming.received_files += 1;
    incoming.received_bytes += missing->second;
    incoming.missing.erase(missing);
    if (incoming.missing.empty()) {
        Incoming done = std::move(incoming);
        incoming_.erase(it);
        files_ready(done.request, done.manifest, done.received_files, done.received_bytes);
    }
}

void Daemon::files_ready(const message::PrepareDataflow& request, const deploy::Manifest& manifest,
                         uint64_t received_files, uint64_t received_bytes) {
    const auto dir = options_.work_dir / request.dataflow_id;
    if (auto copied = file_store_->materialize(manifest, dir); !copied) {
        link_->send(message::make(message::DataflowPrepared{
            request.dataflow_id, false,
            fmt::format("machine `{}`: cannot copy the dataflow's files into {}: {}",
                        options_.machine_id, dir.string(), copied.error().message())}));
        return;
    }
    say(fmt::format("dataflow {}: {} in {}; received {}, the rest from the store",
                    request.dataflow_id, files_text(manifest.files.size(), manifest.total_bytes()),
                    dir.string(), files_text(received_files, received_bytes)));
    load_then_prepare(request);
}

}  // namespace dora::daemon
