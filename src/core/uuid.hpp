// UUIDs (RFC 9562): version 7 generation for dataflow ids, plus parsing and the canonical text
// form (lowercase 8-4-4-4-12).
//
// A v7 UUID starts with a 48-bit Unix timestamp in milliseconds, so ids sort by creation time.
// Within one process, `Uuid::new_v7()` is strictly increasing even when called several times in
// the same millisecond (RFC 9562 section 6.2, method 2: the random part is incremented).
//
// Thread safety: Uuid is a value. `new_v7()` may be called from any thread; a mutex inside
// uuid.cpp guards the last id issued.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora {

class Uuid {
  public:
    using Bytes = std::array<uint8_t, 16>;

    // The nil UUID (all zero).
    Uuid() = default;
    explicit Uuid(const Bytes& bytes) : bytes_(bytes) {}

    // A fresh UUIDv7 from the system clock and the kernel's random source (getrandom, falling
    // back to /dev/urandom). Aborts the process if the kernel cannot give random bytes at all.
    [[nodiscard]] static Uuid new_v7();

    // Parses the canonical 36-character form, upper or lower case hex.
    [[nodiscard]] static Result<Uuid> parse(std::string_view text);

    // Lowercase 8-4-4-4-12.
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] const Bytes& bytes() const { return bytes_; }
    [[nodiscard]] int version() const { return bytes_[6] >> 4; }
    [[nodiscard]] bool is_nil() const { return *this == Uuid{}; }
    // The v7 timestamp (ms since the Unix epoch); meaningless for other versions.
    [[nodiscard]] uint64_t timestamp_ms() const;

    friend auto operator<=>(const Uuid&, const Uuid&) = default;
    friend bool operator==(const Uuid&, const Uuid&) = default;

  private:
    Bytes bytes_{};
};

}  // namespace dora

template <>
struct std::hash<dora::Uuid> {
    size_t operator()(const dora::Uuid& uuid) const noexcept;
};
