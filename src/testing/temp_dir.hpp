// Test support: a scratch directory under $TMPDIR that is removed, with its contents, when the
// object goes out of scope, whether the test passed or failed. Set DORA_TEST_KEEP=1 to keep it
// for a look (its path is printed then). For tests only: errors it cannot report are ignored.
//
// Thread safety: one owner; distinct objects are independent (mkdtemp makes unique names).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace dora::testing {

class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "dora-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::filesystem::path& name) const {
        return path_ / name;
    }

    // Writes `text` to `name` (relative, parent directories created) and returns its path.
    std::filesystem::path write(const std::string& name, std::string_view text,
                                bool executable = false) const;

  private:
    std::filesystem::path path_;
};

}  // namespace dora::testing
