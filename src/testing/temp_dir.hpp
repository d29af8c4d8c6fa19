// Test support: a scratch directory under $TMPDIR that is removed, with its contents, when the
// object goes out of scope. For tests only (it ignores errors it cannot report).
//
// Thread safety: one owner; distinct objects are independent (mkdtemp makes unique names).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace dora::testing {

class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "dora-test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    // Writes `text` to `name` (relative, parent directories created) and returns its path.
    std::filesystem::path write(const std::string& name, std::string_view text,
                                bool executable = false) const {
        std::filesystem::path file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        ::chmod(file.c_str(), executable ? 0755 : 0644);
        return file;
    }

  private:
    std::filesystem::path path_;
};

}  // namespace dora::testing
