// The daemon's part of file shipping (issue 15): a dataflow started on another machine brings the
// files of its directory. The daemon keeps them by content in `<work dir>/files` (a file's bytes
// under their SHA-256, so a second start, or another dataflow with the same files, sends nothing
// again), verifies each on arrival, and copies the dataflow's files into `<work dir>/<dataflow
// id>`, the dataflow's directory here: relative `path:`s and `working_dir`s resolve inside that
// copy, an absolute `working_dir` stays what it names. Nothing is written outside the work
// directory: every path is checked (no absolute path, no `..`) and the copy is made in a fresh
// directory this daemon creates, so no symlink can be on the way. When `dora build` ran there for
// this dataflow, what it made is added to the copy (add_build_outputs). Copies do not pile up: each
// is recorded by its manifest (`<work dir>/manifests/<dataflow id>.json`), and prune_copies keeps
// those of the last few finished dataflows and the stored files they use, removing the rest.
#include <algorithm>
#include <fstream>

#include "core/sys.hpp"
#include "core/uuid.hpp"
#include "daemon/daemon.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

namespace {

namespace fs = std::filesystem;

// A dataflow id as the coordinator makes them (a UUID): only such names are removed as copies.
bool is_dataflow_id(std::string_view name) { return Uuid::parse(name).has_value(); }

// The hashes of the manifest recorded in `file` (none when it cannot be read).
void add_hashes(const fs::path& file, std::set<std::string>& hashes) {
    std::ifstream in(file);
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (auto manifest = deploy::manifest_from_json(json)) {
        for (const auto& f : manifest->files) hashes.insert(f.sha256);
    }
}

// Puts into `copy` (a fresh copy of a dataflow's files) what a build made in `built` (the copy
// it ran in) besides those files: files as hard links (copies across devices), symlinks as they
// are, directories made; `out/` (the build's logs) and every path `copy` has already stay out.
// The walk does not follow symlinks, and every path it writes is under `copy`, made by this
// walk or by materialize: nothing lands outside. Returns how many entries it added.
Result<uint64_t> add_build_outputs(const fs::path& built, const fs::path& copy) {
    uint64_t added = 0;
    std::error_code ec;
    auto it = fs::recursive_directory_iterator(built, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::path rel = it->path().lexically_relative(built);
        const fs::path target = copy / rel;
        const auto status = it->symlink_status(ec);
        if (ec) break;
        if (it.depth() == 0 && rel == "out") {
            it.disable_recursion_pending();
            continue;
        }
        std::error_code there_ec;
        const auto there = fs::symlink_status(target, there_ec);
        if (fs::exists(there)) {
            // The dataflow's own file or directory: it wins; under a file, nothing can go.
            if (!fs::is_directory(there)) it.disable_recursion_pending();
            continue;
        }
        if (fs::is_directory(status)) {
            fs::create_directory(target, ec);
        } else if (fs::is_symlink(status)) {
            fs::copy_symlink(it->path(), target, ec);
        } else if (fs::is_regular_file(status)) {
            fs::create_hard_link(it->path(), target, ec);
            if (ec) fs::copy_file(it->path(), target, ec);
        } else {
            continue;  // sockets, fifos: not a build's output
        }
        if (ec) return fail("{}: {}", target.string(), ec.message());
        ++added;
    }
    if (ec) return fail("reading {}: {}", built.string(), ec.message());
    return added;
}

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
    const std::string id = request.dataflow_id;
    if (request.cli_machine == sys::machine_identity()) {
        // The CLI's machine: the dataflow's own directory is here; nothing to copy.
        link_->send(message::make(message::FilesNeeded{id, {}, true}));
        load_then_prepare(stripped);
        return;
    }
    receive_files(
        id, "dataflow " + id, request.files,
        [this, stripped](const deploy::Manifest& manifest, uint64_t files, uint64_t bytes) {
            files_ready(stripped, manifest, files, bytes);
        },
        [this, id](const std::string& why) {
            link_->send(message::make(message::DataflowPrepared{
                id, false, fmt::format("machine `{}`: {}", options_.machine_id, why)}));
        });
}

void Daemon::receive_files(const std::string& transfer, const std::string& what,
                           const nlohmann::json& files, FilesReady ready,
                           const std::function<void(const std::string&)>& refused) {
    auto refuse = [&](const std::string& why) {
        link_->send(message::make(message::FilesNeeded{transfer, {}, false}));
        refused(why);
    };
    auto manifest = deploy::manifest_from_json(files);
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
    Incoming incoming{what, std::move(*manifest), {}, 0, 0, std::move(ready)};
    for (const auto& sha : file_store_->missing(incoming.manifest)) {
        auto file = std::find_if(incoming.manifest.files.begin(), incoming.manifest.files.end(),
                                 [&sha](const deploy::FileEntry& f) { return f.sha256 == sha; });
        incoming.missing[sha] = file->size;
    }
    std::vector<std::string> missing;
    for (const auto& [sha, size] : incoming.missing) {
        missing.push_back(sha);
    }
    link_->send(message::make(message::FilesNeeded{transfer, missing, false}));
    if (missing.empty()) {
        incoming.ready(incoming.manifest, 0, 0);
        return;
    }
    uint64_t bytes = 0;
    for (const auto& [sha, size] : incoming.missing) {
        bytes += size;
    }
    say(fmt::format("{}: receiving {} of its {} files", what, files_text(missing.size(), bytes),
                    incoming.manifest.files.size()));
    incoming_.emplace(transfer, std::move(incoming));
}

void Daemon::handle(const message::FileChunk& m) {
    auto stored = [&](const std::string& error) {
        link_->send(message::make(message::FileChunkStored{m.transfer, m.sha256, m.offset, error}));
    };
    auto it = incoming_.find(m.transfer);
    if (it == incoming_.end()) {
        stored(fmt::format("it expects no files for {} (stopped meanwhile?)", m.transfer));
        return;
    }
    Incoming& incoming = it->second;
    auto missing = incoming.missing.find(m.sha256);
    if (missing == incoming.missing.end()) {
        stored(fmt::format("it did not ask for file {} of {}", m.sha256, incoming.what));
        return;
    }
    auto bytes = deploy::base64_decode(m.data);
    Result<bool> whole = bytes ? file_store_->receive(m.sha256, missing->second, m.offset, *bytes)
                               : Result<bool>(fail(bytes.error()));
    if (!whole) {
        const std::string error =
            fmt::format("file {} of {}: {}", paths_of(incoming.manifest, m.sha256), incoming.what,
                        whole.error().message());
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
        done.ready(done.manifest, done.received_files, done.received_bytes);
    }
}

void Daemon::files_ready(const message::PrepareDataflow& request, const deploy::Manifest& manifest,
                         uint64_t received_files, uint64_t received_bytes) {
    const auto dir = options_.work_dir / request.dataflow_id;
    // Recorded before it is made: prune_copies removes even a copy made halfway.
    const auto record = options_.work_dir / "manifests" / (request.dataflow_id + ".json");
    std::error_code ec;
    fs::create_directories(record.parent_path(), ec);
    if (std::ofstream out(record); !(out << deploy::to_json(manifest).dump() << std::flush)) {
        link_->send(message::make(message::DataflowPrepared{
            request.dataflow_id, false,
            fmt::format("machine `{}`: cannot write {} (is the disk full?)", options_.machine_id,
                        record.string())}));
        return;
    }
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
    const auto built = build_copy_dir(request.cli_machine, request.descriptor_path);
    if (fs::is_directory(built, ec)) {
        auto added = add_build_outputs(built, dir);
        if (!added) {
            link_->send(message::make(message::DataflowPrepared{
                request.dataflow_id, false,
                fmt::format("machine `{}`: cannot add what `dora build` made in {} to {}: {}",
                            options_.machine_id, built.string(), dir.string(),
                            added.error().message())}));
            return;
        }
        say(fmt::format("dataflow {}: with {} entries `dora build` made in {}", request.dataflow_id,
                        *added, built.string()));
    }
    load_then_prepare(request);
}

void Daemon::prune_copies() {
    const fs::path records = options_.work_dir / "manifests";
    auto active = [this](const std::string& id) {
        return dataflows_.contains(id) || incoming_.contains(id) || fetching_.contains(id);
    };
    // The hashes every copy that stays uses; the finished copies (with their record's time, or
    // their directory's for those made without files, `--no-ship`), newest first.
    std::set<std::string> used;
    std::map<std::string, fs::file_time_type> finished_at;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(records, ec)) {
        const std::string id = entry.path().stem().string();
        if (entry.path().extension() != ".json" || !is_dataflow_id(id)) continue;
        std::error_code time_ec;
        if (active(id)) {
            add_hashes(entry.path(), used);
        } else {
            finished_at[id] = entry.last_write_time(time_ec);
        }
    }
    for (const auto& entry : fs::directory_iterator(options_.work_dir, ec)) {
        const std::string id = entry.path().filename().string();
        std::error_code dir_ec;
        if (!is_dataflow_id(id) || !entry.is_directory(dir_ec) || active(id) ||
            finished_at.contains(id)) {
            continue;
        }
        finished_at[id] = entry.last_write_time(dir_ec);
    }
    std::vector<std::pair<fs::file_time_type, std::string>> finished;
    for (const auto& [id, time] : finished_at) {
        finished.emplace_back(time, id);
    }
    std::sort(finished.rbegin(), finished.rend());
    for (size_t i = 0; i < finished.size(); ++i) {
        const std::string& id = finished[i].second;
        const fs::path record = records / (id + ".json");
        if (i < options_.keep_copies) {
            add_hashes(record, used);
            continue;
        }
        const fs::path copy = options_.work_dir / id;
        std::error_code remove_ec;
        fs::remove_all(copy, remove_ec);
        if (remove_ec) {
            say(fmt::format("cannot remove {}, the copy of finished dataflow {}: {}", copy.string(),
                            id, remove_ec.message()));
            add_hashes(record, used);
            continue;
        }
        fs::remove(record, remove_ec);  // none for a copy made without files
        say(
            fmt::format("removed {}, the copy of finished dataflow {} (its logs with it): the "
                        "daemon keeps the last {} (--keep-copies)",
                        copy.string(), id, options_.keep_copies));
    }
    for (const auto& [id, incoming] : incoming_) {
        for (const auto& f : incoming.manifest.files) used.insert(f.sha256);
    }
    const fs::path store = options_.work_dir / "files";
    uint64_t files = 0;
    uint64_t bytes = 0;
    for (const auto& entry : fs::directory_iterator(store, ec)) {
        std::string name = entry.path().filename().string();
        if (name.ends_with(".part")) name.resize(name.size() - 5);
        if (name.size() != 64 || used.contains(name)) continue;
        std::error_code size_ec;
        const uint64_t size = entry.is_regular_file(size_ec) ? entry.file_size(size_ec) : 0;
        if (fs::remove(entry.path(), size_ec)) {
            ++files;
            bytes += size;
        }
    }
    if (files > 0) {
        say(fmt::format("removed {} from the file store {}: no kept copy uses them",
                        files_text(files, bytes), store.string()));
    }
}

}  // namespace dora::daemon
