#include "testing/temp_dir.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace dora::testing {

TempDir::TempDir(std::string_view prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) {
        path_ = pattern;
    }
}

TempDir::~TempDir() {
    if (path_.empty()) {
        return;
    }
    if (const char* keep = std::getenv("DORA_TEST_KEEP");
        keep != nullptr && *keep != '\0' && std::strcmp(keep, "0") != 0) {
        std::fprintf(stderr, "DORA_TEST_KEEP: kept %s\n", path_.c_str());
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, std::string_view text,
                                     bool executable) const {
    std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    ::chmod(file.c_str(), executable ? 0755 : 0644);
    return file;
}

}  // namespace dora::testing
