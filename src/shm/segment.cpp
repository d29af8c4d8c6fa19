#include "shm/segment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <vector>

#include "core/sys.hpp"

namespace dora::shm {

Segment& Segment::operator=(Segment&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) {
            ::munmap(data_, size_);
        }
        name_ = std::move(other.name_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

Segment::~Segment() {
    if (data_ != nullptr) {
        ::munmap(data_, size_);
    }
}

Result<> Segment::free_pages_from(size_t offset) const {
    if (data_ == nullptr || offset >= size_) {
        return {};
    }
    // On tmpfs (/dev/shm) MADV_REMOVE punches a hole: the pages go back to the system.
    if (::madvise(data_ + offset, size_ - offset, MADV_REMOVE) != 0) {
        return fail(sys::errno_error(fmt::format("madvise(MADV_REMOVE) on {}", name_)));
    }
    return {};
}

void Segment::unmap_pages_from(size_t offset) const {
    if (data_ != nullptr && offset < size_) {
        // Cannot fail on a range of our own mapping; at worst the pages stay resident.
        (void)::madvise(data_ + offset, size_ - offset, MADV_DONTNEED);
    }
}

namespace {

Result<std::byte*> map_fd(int fd, size_t size, bool writable, std::string_view name,
                          bool populate) {
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    // A new segment is about to be written whole: faulting its pages in one go is several times
    // cheaper than one fault per 4 KiB page on first touch.
    int flags = MAP_SHARED | (populate ? MAP_POPULATE : 0);
    void* p = ::mmap(nullptr, size, prot, flags, fd, 0);
    if (p == MAP_FAILED) {
        return fail(
            sys::errno_error(fmt::format("mmap of shared memory {} ({} bytes)", name, size)));
    }
    return static_cast<std::byte*>(p);
}

}  // namespace

Result<Segment> Segment::create(std::string_view name, size_t size) {
    std::string n(name);
    sys::UniqueFd fd(::shm_open(n.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("creating shared memory {}", n)));
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        auto err = sys::errno_error(fmt::format("sizing shared memory {} to {} bytes", n, size));
        ::shm_unlink(n.c_str());
        return fail(err);
    }
    auto data = map_fd(fd.get(), size, true, n, true);
    if (!data) {
        ::shm_unlink(n.c_str());
        return fail(data.error());
    }
    Segment s;
    s.name_ = std::move(n);
    s.data_ = *data;
    s.size_ = size;
    return s;
}

Result<Segment> Segment::open(std::string_view name, bool writable) {
    std::string n(name);
    sys::UniqueFd fd(::shm_open(n.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("opening shared memory {}", n)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("fstat of shared memory {}", n)));
    }
    if (st.st_size <= 0) {
        return fail("shared memory {} is empty", n);
    }
    auto size = static_cast<size_t>(st.st_size);
    auto data = map_fd(fd.get(), size, writable, n, false);
    if (!data) {
        return fail(data.error());
    }
    Segment s;
    s.name_ = std::move(n);
    s.data_ = *data;
    s.size_ = size;
    return s;
}

Result<Segment> Segment::open_with_writable_head(std::string_view name, size_t writable_head) {
    std::string n(name);
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    if (writable_head == 0 || writable_head % page != 0) {
        return fail(
            "mapping shared memory {}: the writable head of {} bytes is not a multiple of "
            "the page size ({} bytes)",
            n, writable_head, page);
    }
    sys::UniqueFd fd(::shm_open(n.c_str(), O_RDWR | O_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("opening shared memory {}", n)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("fstat of shared memory {}", n)));
    }
    if (st.st_size <= 0 || static_cast<size_t>(st.st_size) <= writable_head) {
        return fail("shared memory {} has {} bytes, too few for a {}-byte header and data", n,
                    st.st_size, writable_head);
    }
    auto size = static_cast<size_t>(st.st_size);
    // One read-only mapping, then the head made writable: the range stays contiguous (offsets
    // from the start work as for any segment) and it costs two syscalls once per segment, since
    // receivers keep segments mapped.
    auto data = map_fd(fd.get(), size, false, n, false);
    if (!data) {
        return fail(data.error());
    }
    if (::mprotect(*data, writable_head, PROT_READ | PROT_WRITE) != 0) {
        auto err =
            sys::errno_error(fmt::format("making the header of shared memory {} writable", n));
        ::munmap(*data, size);
        return fail(err);
    }
    Segment s;
    s.name_ = std::move(n);
    s.data_ = *data;
    s.size_ = size;
    return s;
}

Result<> unlink_segment(std::string_view name) {
    std::string n(name);
    if (::shm_unlink(n.c_str()) != 0 && errno != ENOENT) {
        return fail(sys::errno_error(fmt::format("removing shared memory {}", n)));
    }
    return {};
}

namespace {

std::vector<std::string> list_shm(std::string_view prefix) {
    std::vector<std::string> names;
    DIR* dir = ::opendir("/dev/shm");
    if (dir == nullptr) {
        return names;
    }
    while (dirent* e = ::readdir(dir)) {
        std::string_view n(e->d_name);
        if (n.starts_with(prefix)) {
            names.emplace_back(n);
        }
    }
    ::closedir(dir);
    return names;
}

}  // namespace

size_t remove_stale_segments() {
    size_t removed = 0;
    for (const auto& n : list_shm("dora.")) {
        std::string_view rest = std::string_view(n).substr(5);
        pid_t pid = 0;
        auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
        if (ec != std::errc() || ptr == rest.data() || pid <= 0) {
            continue;
        }
        if (::kill(pid, 0) == 0 || errno == EPERM) {
            continue;  // owner still alive
        }
        if (::shm_unlink(("/" + n).c_str()) == 0) {
            ++removed;
        }
    }
    return removed;
}

size_t remove_segments_with_prefix(std::string_view prefix) {
    size_t removed = 0;
    for (const auto& n : list_shm(prefix)) {
        if (::shm_unlink(("/" + n).c_str()) == 0) {
            ++removed;
        }
    }
    return removed;
}

}  // namespace dora::shm
