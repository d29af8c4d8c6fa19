// libFuzzer target: metadata decode + layout check + export on arbitrary bytes.
//
// Properties: decode() never crashes or over-reads; what it accepts encodes back to bytes that
// decode to the same value; check_layout() never crashes, and what it accepts (for a region the
// fuzzer provides) exports and releases cleanly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"

namespace {

constexpr uint64_t kRegionSize = 4096;

// A region the exported arrays point into; its contents are arbitrary, as a hostile sender's.
struct Region {
    alignas(64) std::byte bytes[kRegionSize];
};

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dora::message;
    const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
    auto decoded = decode(input);
    if (!decoded) {
        return 0;
    }
    const std::string reencoded = encode(*decoded);
    auto again = decode(std::as_bytes(std::span<const char>(reencoded)));
    check(again.has_value() && encoded_size(*decoded) == reencoded.size());
    check(encode(*again) == reencoded);  // bytewise, so NaN parameters compare too

    static Region region;
    std::memset(region.bytes, 0, sizeof region.bytes);
    // Fill the region with the input too so offsets checks see varied values.
    std::memcpy(region.bytes, data, std::min<size_t>(size, kRegionSize));
    if (!check_layout(decoded->type_info, kRegionSize)) {
        return 0;
    }
    ArrowArray array{};
    ArrowSchema schema{};
    if (export_array(decoded->type_info, region.bytes, kRegionSize, nullptr, &array, &schema)) {
        check(array.release != nullptr && schema.release != nullptr);
        array.release(&array);
        schema.release(&schema);
        check(array.release == nullptr && schema.release == nullptr);
    }
    return 0;
}
