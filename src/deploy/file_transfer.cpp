// FileStore::receive and the base64 of file chunks: the daemon's end of a transfer (manifest.hpp).
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/hex.hpp"
#include "core/sys.hpp"
#include "deploy/manifest.hpp"

namespace dora::deploy {

namespace fs = std::filesystem;

namespace {

std::string write_error_text(int error, const fs::path& file) {
    if (error == ENOSPC || error == EDQUOT) {
        return fmt::format(
            "no space left on the device of {} ({}): free some space there (old dataflow copies "
            "in the daemon's work directory can go) and start again",
            file.parent_path().string(), std::strerror(error));
    }
    return fmt::format("cannot write {}: {}", file.string(), std::strerror(error));
}

// Appends `bytes` to `file` (created or truncated when `truncate`); the errno on failure.
int append(const fs::path& file, std::span<const std::byte> bytes, bool truncate) {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : O_APPEND);
    sys::UniqueFd fd(::open(file.c_str(), flags, 0600));
    if (!fd.valid()) {
        return errno;
    }
    auto written = sys::write_all(
        fd.get(), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!written) {
        return written.error().code() != 0 ? written.error().code() : EIO;
    }
    return ::close(fd.release()) == 0 ? 0 : errno;
}

}  // namespace

std::string base64_encode(std::span<const std::byte> bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Result<std::vector<std::byte>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0 ||
        text.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
            std::string_view::npos) {
        return fail("a file chunk is not base64 text ({} characters)", text.size());
    }
    const size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    if (text.substr(0, text.size() - padding).find('=') != std::string_view::npos) {
        return fail("a file chunk is not base64 text (`=` inside it)");
    }
    std::vector<std::byte> out(text.size() / 4 * 3);
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return fail("a file chunk is not base64 text");
    }
    // EVP_DecodeBlock counts the padding as zero bytes.
    out.resize(static_cast<size_t>(n) - padding);
    return out;
}

Result<bool> FileStore::receive(std::string_view sha256, uint64_t size, uint64_t offset,
                                std::span<const std::byte> bytes) {
    if (!is_lower_hex(sha256, 64)) {
        return fail("\"{}\" is not a SHA-256", std::string(sha256.substr(0, 80)));
    }
    const fs::path part = dir_ / (std::string(sha256) + ".part");
    std::error_code ec;
    auto refuse = [&](std::string text) -> Result<bool> {
        fs::remove(part, ec);
        return fail(Error(std::move(text)));
    };
    const uint64_t have = offset == 0 ? 0 : fs::file_size(part, ec);
    if (ec || have != offset) {
        return refuse(fmt::format(
            "a chunk of file {} came at offset {}, but {} bytes of it had arrived: send it again",
            sha256, offset, ec ? 0 : have));
    }
    if (offset + bytes.size() > size) {
        return refuse(
            fmt::format("file {} is longer than the {} bytes its manifest says (it changed while "
                        "it was sent): send it again",
                        sha256, size));
    }
    if (int error = append(part, bytes, offset == 0); error != 0) {
        return refuse(write_error_text(error, part));
    }
    if (offset + bytes.size() < size) {
        return false;
    }
    auto actual = sha256_file(part);
    if (!actual) {
        return refuse(actual.error().message());
    }
    if (*actual != sha256) {
        return refuse(fmt::format(
            "a file arrived with SHA-256 {} instead of {} (it changed while it was sent, or was "
            "corrupted): nothing was stored; send it again",
            *actual, sha256));
    }
    fs::rename(part, dir_ / std::string(sha256), ec);
    if (ec) {
        return refuse(fmt::format("cannot store {}: {}", part.string(), ec.message()));
    }
    return true;
}

}  // namespace dora::deploy
