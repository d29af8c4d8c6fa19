#include "deploy/manifest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include "core/hex.hpp"
#include "deploy/ignore_rules.hpp"

namespace dora::deploy {

namespace fs = std::filesystem;

namespace {

bool is_sha256(std::string_view text) { return is_lower_hex(text, 64); }

std::string size_text(uint64_t bytes) {
    return bytes >= (1u << 20) ? fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20))
                               : fmt::format("{} bytes", bytes);
}

std::string largest(std::vector<FileEntry> files, size_t n) {
    std::sort(files.begin(), files.end(),
              [](const FileEntry& a, const FileEntry& b) { return a.size > b.size; });
    std::string out;
    for (size_t i = 0; i < files.size() && i < n; ++i) {
        out +=
            fmt::format("{}{} ({})", i == 0 ? "" : ", ", files[i].path, size_text(files[i].size));
    }
    return out;
}

class Walker {
  public:
    Walker(fs::path root, const ManifestLimits& limits, IgnoreRules rules)
        : root_(std::move(root)), limits_(limits), rules_(std::move(rules)) {}

    Result<> walk(const fs::path& dir, const std::string& prefix) {
        std::error_code ec;
        std::vector<fs::directory_entry> entries;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            entries.push_back(entry);
        }
        if (ec) {
            return fail("cannot list {}: {}", dir.string(), ec.message());
        }
        for (const auto& entry : entries) {
            const std::string name = entry.path().filename().string();
            const std::string rel = prefix.empty() ? name : prefix + "/" + name;
            if (auto ok = visit(entry, rel); !ok) {
                return ok;
            }
        }
        return {};
    }

    Manifest take() {
        std::sort(manifest_.files.begin(), manifest_.files.end(),
                  [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
        return std::move(manifest_);
    }
    uint64_t total = 0;

  private:
    Result<> visit(const fs::directory_entry& entry, const std::string& rel) {
        std::error_code ec;
        const auto status = entry.symlink_status(ec);
        if (fs::is_symlink(status)) {
            return visit_symlink(entry.path(), rel);
        }
        if (fs::is_directory(status)) {
            return rules_.ignored(rel, true) ? Result<>{} : walk(entry.path(), rel);
        }
        if (!fs::is_regular_file(status) || rules_.ignored(rel, false)) {
            return {};  // sockets, fifos, devices: not files a node reads
        }
        return add(entry.path(), rel);
    }

    Result<> visit_symlink(const fs::path& link, const std::string& rel) {
        std::error_code ec;
        const fs::path target = fs::canonical(link, ec);
        if (ec) {
            return rules_.ignored(rel, false) ? Result<>{}
                                              : fail(
                                                    "{} is a broken symlink: remove it or add it "
                                                    "to .doraignore",
                                                    (root_ / rel).string());
        }
        const auto inside = std::mismatch(root_.begin(), root_.end(), target.begin(), target.end());
        if (inside.first != root_.end()) {
            return fail(
                "{} is a symlink to {}, outside the dataflow's directory {}: only what is inside "
                "travels to the machines; copy the file in, or add the link to .doraignore",
                (root_ / rel).string(), target.string(), root_.string());
        }
        if (fs::is_directory(target)) {
            return rules_.ignored(rel, true)
                       ? Result<>{}
                       : fail(
                             "{} is a symlink to a directory: links to directories are not "
                             "shipped; make it a real directory or add it to .doraignore",
                             (root_ / rel).string());
        }
        return rules_.ignored(rel, false) ? Result<>{} : add(target, rel);
    }

    Result<> add(const fs::path& file, const std::string& rel) {
        if (auto ok = check_relative_path(rel); !ok) {
            return ok;
        }
        if (manifest_.files.size() >= limits_.max_files) {
            return fail(
                "the dataflow's directory {} has more than {} files to send: add what the "
                "nodes do not need to .doraignore",
                root_.string(), limits_.max_files);
        }
        std::error_code ec;
        const auto size = fs::file_size(file, ec);
        total += size;
        if (total > limits_.max_total_bytes) {
            // Over the limit: the walk goes on only to name the largest files; hashing them
            // would be wasted (and slow on a large directory).
            manifest_.files.push_back(FileEntry{rel, "", size, false});
            return {};
        }
        auto hash = sha256_file(file);
        if (!hash) {
            return fail(hash.error());
        }
        const auto perms = fs::status(file, ec).permissions();
        FileEntry entry{rel, std::move(*hash), size,
                        (perms & fs::perms::owner_exec) != fs::perms::none};
        manifest_.files.push_back(std::move(entry));
        return {};
    }

    fs::path root_;
    ManifestLimits limits_;
    IgnoreRules rules_;
    Manifest manifest_;
};

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
}

void Sha256Stream::update(std::span<const std::byte> bytes) {
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
}

std::string Sha256Stream::finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    return to_hex(out, len);
}

uint64_t Manifest::total_bytes() const {
    uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    return total;
}

std::string sha256_hex(std::span<const std::byte> bytes) {
    Sha256Stream digest;
    digest.update(bytes);
    return digest.finish();
}

Result<std::string> sha256_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail("cannot read {}", file.string());
    }
    Sha256Stream digest;
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        digest.update(std::as_bytes(std::span(buffer.data(), static_cast<size_t>(in.gcount()))));
    }
    if (in.bad()) {
        return fail("cannot read {}", file.string());
    }
    return digest.finish();
}

Result<> check_relative_path(std::string_view path) {
    auto refuse = [&](std::string_view why) {
        return fail("the file path \"{}\" {}: a dataflow's files stay inside its directory",
                    std::string(path.substr(0, 200)), why);
    };
    if (path.empty()) return refuse("is empty");
    if (path.size() > 4096) return refuse("is longer than 4096 bytes");
    if (path.front() == '/') return refuse("is absolute");
    if (path.find('\0') != std::string_view::npos) return refuse("contains a NUL byte");
    if (path.find('\\') != std::string_view::npos) return refuse("contains a backslash");
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view part = path.substr(start, end - start);
        if (part.empty()) return refuse("has an empty part");
        if (part == "." || part == "..") return refuse("has a `.` or `..` part");
        start = end + 1;
    }
    return {};
}

Result<Manifest> build_manifest(const fs::path& root_in, const ManifestLimits& limits) {
    std::error_code ec;
    const fs::path root = fs::canonical(root_in, ec);
    if (ec || !fs::is_directory(root)) {
        return fail("the dataflow's directory {} cannot be read: {}", root_in.string(),
                    ec ? ec.message() : "not a directory");
    }
    std::string ignore_text;
    if (std::ifstream in(root / ".doraignore"); in) {
        ignore_text.assign(std::istreambuf_iterator<char>(in), {});
    }
    Walker walker(root, limits, IgnoreRules::with(ignore_text));
    if (auto ok = walker.walk(root, ""); !ok) {
        return fail(ok.error());
    }
    Manifest manifest = walker.take();
    if (walker.total > limits.max_total_bytes) {
        return fail(
            "the dataflow's directory {} has {} to send to the machines, more than the limit of "
            "{}; the largest files: {}. Add what the nodes do not need to .doraignore (gitignore "
            "syntax), or raise the limit",
            root.string(), size_text(walker.total), size_text(limits.max_total_bytes),
            largest(manifest.files, 5));
    }
    return manifest;
}

nlohmann::json to_json(const Manifest& manifest) {
    auto files = nlohmann::json::array();
    for (const auto& f : manifest.files) {
        files.push_back({{"path", f.path},
                         {"sha256", f.sha256},
                         {"size", f.size},
                         {"executable", f.executable}});
    }
    return {{"files", std::move(files)}};
}

Result<Manifest> manifest_from_json(const nlohmann::json& json) {
    Manifest manifest;
    try {
        std::set<std::string> seen;
        for (const auto& f : json.at("files")) {
            FileEntry entry{f.at("path").get<std::string>(), f.at("sha256").get<std::string>(),
                            f.at("size").get<uint64_t>(), f.value("executable", false)};
            if (auto ok = check_relative_path(entry.path); !ok) {
                return fail(ok.error());
            }
            if (!is_sha256(entry.sha256)) {
                return fail("the manifest entry {} has no valid SHA-256", entry.path);
            }
            if (!seen.insert(entry.path).second) {
                return fail("the manifest lists {} twice", entry.path);
            }
            manifest.files.push_back(std::move(entry));
        }
    } catch (const nlohmann::json::exception& e) {
        return fail("malformed file manifest: {}", e.what());
    }
    return manifest;
}

Result<FileStore> FileStore::open(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail("cannot create the file store {}: {}", dir.string(), ec.message());
    }
    fs::permissions(dir, fs::perms::owner_all, ec);
    return FileStore(dir);
}

bool FileStore::has(std::string_view sha256) const {
    std::error_code ec;
    return is_sha256(sha256) && fs::is_regular_file(dir_ / std::string(sha256), ec);
}

std::vector<std::string> FileStore::missing(const Manifest& manifest) const {
    std::set<std::string> out;
    for (const auto& f : manifest.files) {
        if (!has(f.sha256)) out.insert(f.sha256);
    }
    return {out.begin(), out.end()};
}

Result<> FileStore::put(std::string_view sha256, std::span<const std::byte> bytes) {
    if (!is_sha256(sha256)) {
        return fail("\"{}\" is not a SHA-256", std::string(sha256.substr(0, 80)));
    }
    if (const auto actual = sha256_hex(bytes); actual != sha256) {
        return fail(
            "a file arrived with SHA-256 {} instead of {} (it changed while it was sent, "
            "or was corrupted): nothing was stored; send it again",
            actual, sha256);
    }
    const fs::path final_path = dir_ / std::string(sha256);
    const fs::path temp = dir_ / (std::string(sha256) + ".part");
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::error_code ec;
            fs::remove(temp, ec);
            return fail("cannot write {} (disk full?)", temp.string());
        }
    }
    std::error_code ec;
    fs::rename(temp, final_path, ec);
    if (ec) {
        fs::remove(temp, ec);
        return fail("cannot store {}: {}", final_path.string(), ec.message());
    }
    return {};
}

Result<> FileStore::materialize(const Manifest& manifest, const fs::path& target) const {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(target, ec))) {
        return fail("{} exists already: a dataflow's files go into a fresh directory",
                    target.string());
    }
    if (!fs::create_directories(target, ec) || ec) {
        return fail("cannot create {}: {}", target.string(), ec.message());
    }
    fs::permissions(target, fs::perms::owner_all, ec);
    for (const auto& f : manifest.files) {
        if (auto ok = check_relative_path(f.path); !ok) {
            return ok;
        }
        if (!has(f.sha256)) {
            return fail("{} ({}) is not in the file store {}", f.path, f.sha256, dir_.string());
        }
        const fs::path out = target / f.path;
        // Every directory on the way is one this call made: no symlink can be on the path.
        fs::create_directories(out.parent_path(), ec);
        if (ec || !fs::is_directory(fs::symlink_status(out.parent_path()))) {
            return fail("cannot create the directory of {} under {}{}", f.path, target.string(),
                        ec ? ": " + ec.message() : ": a file of the dataflow has its name");
        }
        const fs::path stored = dir_ / f.sha256;
        // A copy, never a hard link: a node that writes to its file must not change the store.
        if (!fs::copy_file(stored, out, fs::copy_options::none, ec) || ec) {
            return fail("cannot write {} under {}: {}", f.path, target.string(),
                        ec ? ec.message() : "it is listed twice");
        }
        fs::permissions(
            out,
            f.executable ? fs::perms::owner_all : fs::perms::owner_read | fs::perms::owner_write,
            ec);
    }
    return {};
}

}  // namespace dora::deploy
