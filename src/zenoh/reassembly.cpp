#include "zenoh/reassembly.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/sys.hpp"

namespace dora::zenoh {

namespace {

size_t round_to_pages(size_t n) {
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

}  // namespace

Result<> ReassemblyBuffer::append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
        return {};
    }
    const size_t needed = size_ + bytes.size();
    if (needed > capacity_) {
        // Doubling only reserves address space: pages become resident when written.
        const size_t capacity = round_to_pages(std::max(needed, capacity_ * 2));
        void* p = data_ == nullptr ? ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                   : ::mremap(data_, capacity_, capacity, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) {
            return fail(sys::errno_error(
                fmt::format("reassembling a fragmented message of {} bytes so far", needed)));
        }
        data_ = static_cast<uint8_t*>(p);
        capacity_ = capacity;
    }
    std::memcpy(data_ + size_, bytes.data(), bytes.size());
    size_ = needed;
    return {};
}

void ReassemblyBuffer::clear(size_t keep) {
    if (capacity_ > keep) {
        release();
    }
    size_ = 0;
}

void ReassemblyBuffer::release() {
    if (data_ != nullptr) {
        ::munmap(data_, capacity_);
    }
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
}

}  // namespace dora::zenoh
