// Key material on disk (files.hpp).
#include "pki/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/sys.hpp"

namespace dora::pki {

namespace fs = std::filesystem;

Result<fs::path> default_state_dir() {
    const char* state = std::getenv("XDG_STATE_HOME");
    if (state != nullptr && *state == '/') {
        return fs::path(state) / "dora" / "coordinator";
    }
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
        return fail(
            "neither XDG_STATE_HOME nor HOME is set: give the coordinator a state "
            "directory with --state-dir DIR");
    }
    return fs::path(home) / ".local" / "state" / "dora" / "coordinator";
}

Result<> make_private_dir(const fs::path& dir) {
    std::error_code ec;
    if (dir.has_parent_path()) {
        fs::create_directories(dir.parent_path(), ec);
        if (ec) {
            return fail("cannot create {}: {}", dir.parent_path().string(), ec.message());
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(sys::errno_error(fmt::format("cannot create the directory {}", dir.string())));
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("cannot read {}", dir.string())));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail("{} is not a directory", dir.string());
    }
    if (st.st_uid != ::geteuid()) {
        return fail(
            "{} belongs to another user (uid {}): the key material of this user cannot "
            "live there; choose another directory",
            dir.string(), st.st_uid);
    }
    if ((st.st_mode & 022) != 0) {
        return fail(
            "{} may be written by other users (mode {:o}): they could replace the keys "
            "in it; run `chmod 700 {}`",
            dir.string(), st.st_mode & 0777, dir.string());
    }
    return {};
}

Result<> write_file(const fs::path& path, std::string_view content, mode_t mode, bool replace) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::string temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    sys::UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("cannot write {}", path.string())));
    }
    auto written = [&]() -> Result<> {
        if (::fchmod(fd.get(), mode) != 0) {
            return fail(sys::errno_error(fmt::format("cannot set the mode of {}", temp)));
        }
        if (auto ok = sys::write_all(fd.get(), content); !ok) return ok;
        if (::fsync(fd.get()) != 0) return fail(sys::errno_error("fsync " + temp));
        if (replace ? ::rename(temp.c_str(), path.c_str()) : ::link(temp.c_str(), path.c_str())) {
            if (errno == EEXIST) {
                return fail(Error::make("{} exists already: remove it, or use --force to "
                                        "overwrite it",
                                        path.string())
                                .with_code(EEXIST));
            }
            return fail(sys::errno_error(fmt::format("cannot write {}", path.string())));
        }
        return {};
    }();
    if (!replace || !written) {
        ::unlink(temp.c_str());
    }
    return written;
}

Result<std::string> read_file(const fs::path& path, size_t max_bytes) {
    sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("cannot read {}", path.string())));
    }
    std::string content;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys::errno_error(fmt::format("cannot read {}", path.string())));
        if (n == 0) break;
        content.append(buffer, static_cast<size_t>(n));
        if (content.size() > max_bytes) {
            return fail("{} is larger than {} bytes: it is not a key or certificate file",
                        path.string(), max_bytes);
        }
    }
    return content;
}

Result<std::string> read_private_file(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("cannot read {}", path.string())));
    }
    if (st.st_uid != ::geteuid()) {
        return fail("the private key {} belongs to another user (uid {}); it must be this user's",
                    path.string(), st.st_uid);
    }
    if ((st.st_mode & 077) != 0) {
        return fail(
            "the private key {} may be read or written by other users (mode {:o}): run "
            "`chmod 600 {}`",
            path.string(), st.st_mode & 0777, path.string());
    }
    return read_file(path);
}

}  // namespace dora::pki
