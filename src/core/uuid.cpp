#include "core/uuid.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace dora {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr size_t kTextLength = 36;

bool is_dash_position(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool read_urandom(uint8_t* out, size_t size) {
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd, out + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return done == size;
}

// Random bytes are a precondition for ids that must not collide; without them nothing sensible
// can continue, hence abort rather than an error value every caller would have to carry.
void fill_random(uint8_t* out, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::getrandom(out + done, size - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        done += static_cast<size_t>(n);
    }
    if (done == size || read_urandom(out, size)) return;
    std::fputs("dora: no random source (getrandom and /dev/urandom failed); cannot make ids\n",
               stderr);
    std::abort();
}

uint64_t now_ms() {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

// The 74 random bits of a v7 id (12 of rand_a, 62 of rand_b), kept as one counter so that ids made
// in the same millisecond can be incremented.
struct V7State {
    uint64_t timestamp_ms = 0;
    uint64_t rand_high = 0;  // 12 bits (rand_a)
    uint64_t rand_low = 0;   // 62 bits (rand_b)
};

constexpr uint64_t kRandHighMask = (uint64_t{1} << 12) - 1;
constexpr uint64_t kRandLowMask = (uint64_t{1} << 62) - 1;

V7State next_state() {
    static std::mutex mutex;  // guards `last`
    static V7State last;

    std::array<uint8_t, 10> random{};
    fill_random(random.data(), random.size());
    uint64_t random_low = 0;
    for (size_t i = 0; i < 8; ++i) random_low = (random_low << 8) | random[i];
    uint64_t random_high = (uint64_t{random[8]} << 8) | random[9];

    std::lock_guard lock(mutex);
    uint64_t now = now_ms();
    if (now > last.timestamp_ms) {
        last = {now, random_high & kRandHighMask, random_low & kRandLowMask};
        return last;
    }
    // Same (or earlier: clock stepped back) millisecond: stay monotonic by incrementing.
    last.rand_low = (last.rand_low + 1) & kRandLowMask;
    if (last.rand_low == 0) {
        last.rand_high = (last.rand_high + 1) & kRandHighMask;
        if (last.rand_high == 0) ++last.timestamp_ms;
    }
    return last;
}

}  // namespace

Uuid Uuid::new_v7() {
    V7State state = next_state();
    Bytes bytes{};
    for (size_t i = 0; i < 6; ++i) {
        bytes[i] = static_cast<uint8_t>(state.timestamp_ms >> (40 - 8 * i));
    }
    bytes[6] = static_cast<uint8_t>(0x70 | ((state.rand_high >> 8) & 0x0f));
    bytes[7] = static_cast<uint8_t>(state.rand_high);
    bytes[8] = static_cast<uint8_t>(0x80 | ((state.rand_low >> 56) & 0x3f));
    for (size_t i = 9; i < 16; ++i) {
        bytes[i] = static_cast<uint8_t>(state.rand_low >> (8 * (15 - i)));
    }
    return Uuid(bytes);
}

Result<Uuid> Uuid::parse(std::string_view text) {
    if (text.size() != kTextLength) {
        return fail(
            "invalid UUID \"{}\": expected 36 characters like "
            "01890a5d-ac96-774b-bcce-b302099a8057, got {}",
            text, text.size());
    }
    Bytes bytes{};
    size_t byte_index = 0;
    for (size_t i = 0; i < kTextLength; i += 2) {
        if (is_dash_position(i)) {
            if (text[i] != '-') break;
            ++i;
        }
        int high = hex_value(text[i]);
        int low = hex_value(text[i + 1]);
        if (high < 0 || low < 0) {
            return fail("invalid UUID \"{}\": non-hex character at position {}", text,
                        (high < 0 ? i : i + 1) + 1);
        }
        bytes[byte_index++] = static_cast<uint8_t>((high << 4) | low);
    }
    if (byte_index != bytes.size()) {
        return fail("invalid UUID \"{}\": dashes must be at positions 9, 14, 19 and 24", text);
    }
    return Uuid(bytes);
}

std::string Uuid::to_string() const {
    std::string out;
    out.reserve(kTextLength);
    for (size_t i = 0; i < bytes_.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHexDigits[bytes_[i] >> 4]);
        out.push_back(kHexDigits[bytes_[i] & 0x0f]);
    }
    return out;
}

uint64_t Uuid::timestamp_ms() const {
    uint64_t ms = 0;
    for (size_t i = 0; i < 6; ++i) ms = (ms << 8) | bytes_[i];
    return ms;
}

}  // namespace dora

size_t std::hash<dora::Uuid>::operator()(const dora::Uuid& uuid) const noexcept {
    // The low 8 bytes of a v7 id are random; good enough as a hash on their own but mix in the
    // rest so that hand-made ids (tests, nil-like patterns) still spread.
    uint64_t high = 0;
    uint64_t low = 0;
    for (size_t i = 0; i < 8; ++i) {
        high = (high << 8) | uuid.bytes()[i];
        low = (low << 8) | uuid.bytes()[8 + i];
    }
    return std::hash<uint64_t>{}(high * 0x9e3779b97f4a7c15ULL ^ low);
}
