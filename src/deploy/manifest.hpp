// The files a dataflow's nodes need, as they travel from the CLI's machine to the daemons (issue
// 15): a manifest of the dataflow directory (relative path, SHA-256, size, executable bit of every
// file IgnoreRules keeps), built with limits, and the daemon's side: a content-addressed store
// that verifies each file's hash on arrival and materializes a manifest into a fresh directory
// without ever writing outside it.
//
// Thread safety: free functions are reentrant; a FileStore is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace dora::deploy {

struct FileEntry {
    std::string path;    // relative, '/'-separated (check_relative_path)
    std::string sha256;  // 64 lowercase hex digits
    uint64_t size = 0;
    bool executable = false;
};

struct Manifest {
    std::vector<FileEntry> files;  // sorted by path
    [[nodiscard]] uint64_t total_bytes() const;
};

struct ManifestLimits {
    uint64_t max_total_bytes = uint64_t{256} << 20;
    size_t max_files = 100'000;
};

// The manifest of `root` (a directory): every regular file IgnoreRules (the defaults and
// `root/.doraignore`) keeps; a symlink to a file inside `root` counts as that file. Errors: a
// symlink that leads out of `root` or to a directory, a file that cannot be read, more than the
// limits (naming the largest files and the limit).
[[nodiscard]] Result<Manifest> build_manifest(const std::filesystem::path& root,
                                              const ManifestLimits& limits = {});

// SHA-256 of bytes given piece by piece (a file read in chunks), as 64 hex digits.
class Sha256Stream {
  public:
    Sha256Stream();
    void update(std::span<const std::byte> bytes);
    [[nodiscard]] std::string finish();

  private:
    std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

// SHA-256 of bytes, and of a file's content, as 64 hex digits.
[[nodiscard]] std::string sha256_hex(std::span<const std::byte> bytes);
[[nodiscard]] Result<std::string> sha256_file(const std::filesystem::path& file);

// A path from a manifest may be written under a directory: relative, '/'-separated, no empty,
// `.` or `..` part, no NUL or backslash, at most 4096 bytes. The error names the path.
[[nodiscard]] Result<> check_relative_path(std::string_view path);

// JSON of a manifest, and back with every entry checked (paths, hashes, duplicates).
[[nodiscard]] nlohmann::json to_json(const Manifest& manifest);
[[nodiscard]] Result<Manifest> manifest_from_json(const nlohmann::json& json);

// A daemon's cache of files by content: `<dir>/<sha256>`, each written whole (a temporary file
// renamed into place) only when its bytes hash to its name.
// Base64 (RFC 4648, padded): file chunks travel inside JSON control messages. decode refuses
// anything that is not such text.
[[nodiscard]] std::string base64_encode(std::span<const std::byte> bytes);
[[nodiscard]] Result<std::vector<std::byte>> base64_decode(std::string_view text);

class FileStore {
  public:
    // Creates `dir` (mode 0700) if needed.
    [[nodiscard]] static Result<FileStore> open(const std::filesystem::path& dir);

    [[nodiscard]] bool has(std::string_view sha256) const;
    // The hashes of `manifest` not in the store yet (what must be sent), without repeats.
    [[nodiscard]] std::vector<std::string> missing(const Manifest& manifest) const;
    // Stores `bytes` under `sha256`; refused when they hash to something else (a file changed or
    // corrupted on the way).
    [[nodiscard]] Result<> put(std::string_view sha256, std::span<const std::byte> bytes);
    // One chunk of the file that hashes to `sha256` and is `size` bytes long, as it arrives in
    // order (`offset` = the bytes received before it; 0 starts over). The chunks gather in
    // `<sha256>.part`, so nothing of a file is held in memory; the file enters the store once
    // `size` bytes are there and they hash to `sha256`. Returns true then. Errors: a chunk out of
    // order or beyond `size`, a hash mismatch (the file changed while it was sent), a write
    // error (the text says when the disk is full); the part file is removed on any error.
    [[nodiscard]] Result<bool> receive(std::string_view sha256, uint64_t size, uint64_t offset,
                                       std::span<const std::byte> bytes);
    // Writes every file of `manifest` under `target`, which must not exist yet (it is created,
    // mode 0700): copies of the stored files (a node that writes to its file leaves the store
    // intact), mode 0700 when executable, else 0600. Errors: a path check_relative_path refuses,
    // a file not in the store, two entries that collide (a file where a directory is needed).
    [[nodiscard]] Result<> materialize(const Manifest& manifest,
                                       const std::filesystem::path& target) const;

    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  private:
    explicit FileStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

}  // namespace dora::deploy
