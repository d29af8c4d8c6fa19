// The files `dora cluster up` copies to a machine that lacks this dora: this `dora` executable,
// dora-runtime and the matching `dora` Python package, laid out as an installation
// (bin/, <libdir>/dora/python) so the copied daemon finds its own runtimes (daemon/python_env.hpp),
// with bundle.sha256 listing every file's SHA-256. The hash of that list is the bundle's identity:
// a machine whose copy has the same identity and passes `sha256sum -c` has this dora.
//
// Thread safety: a Bundle is used by one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace dora::cli {

class Bundle {
  public:
    // Lists and hashes the files (nothing is packed yet).
    [[nodiscard]] static Result<Bundle> describe();
    Bundle(Bundle&& other) noexcept;
    Bundle& operator=(Bundle&&) = delete;
    Bundle(const Bundle&) = delete;
    ~Bundle();

    [[nodiscard]] const std::string& id() const { return id_; }
    [[nodiscard]] uint64_t bytes() const { return bytes_; }
    // Packs the files into a tar in a temporary dir (once); its path.
    [[nodiscard]] Result<std::filesystem::path> tar();

  private:
    Bundle() = default;
    std::filesystem::path stage_;  // temporary: links to the files, the list, the tar
    std::string id_;
    uint64_t bytes_ = 0;
    bool packed_ = false;
};

// The SHA-256 of a file's content as hex.
[[nodiscard]] Result<std::string> sha256_file(const std::filesystem::path& file);
[[nodiscard]] std::string sha256_text(std::string_view text);

// uname -m of this machine ("x86_64").
[[nodiscard]] std::string local_arch();

}  // namespace dora::cli
