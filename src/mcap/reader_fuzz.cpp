// libFuzzer target: the MCAP reader and the dora recording layout on arbitrary bytes.
//
// Properties: neither reader crashes, over-reads or allocates more than the input holds (every
// length is checked against the bytes present); the MCAP reader never hands out a message whose
// channel it has not seen; once a reader failed, it keeps failing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "mcap/reader.hpp"
#include "mcap/recording.hpp"

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
    if (auto reader = dora::mcap::Reader::from_bytes(input)) {
        for (int i = 0; i < 10000; ++i) {
            auto m = (*reader)->next();
            if (!m) {
                check(!(*reader)->next());
                break;
            }
            if (!*m) {
                break;
            }
            check((*m)->channel != nullptr);
            check((*m)->data.size() <= size);
        }
    }
    if (auto reader = dora::mcap::RecordingReader::from_bytes(input)) {
        for (int i = 0; i < 10000; ++i) {
            auto m = (*reader)->next();
            if (!m || !*m) {
                break;
            }
            check((*m)->data.size() <= size);
        }
    }
    return 0;
}
