// libFuzzer target: a file manifest and a file chunk as a daemon or coordinator receives them
// (manifest_from_json, base64_decode). Every manifest accepted holds only paths
// check_relative_path accepts and survives a round trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "deploy/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto bytes = dora::deploy::base64_decode(text)) {
        // Not always the same text (trailing bits may differ), always the same bytes.
        auto again = dora::deploy::base64_decode(dora::deploy::base64_encode(*bytes));
        if (!again || *again != *bytes) std::abort();
    }
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) {
        return 0;
    }
    auto manifest = dora::deploy::manifest_from_json(json);
    if (!manifest) {
        return 0;
    }
    for (const auto& file : manifest->files) {
        if (!dora::deploy::check_relative_path(file.path)) std::abort();
    }
    auto again = dora::deploy::manifest_from_json(dora::deploy::to_json(*manifest));
    if (!again || again->files.size() != manifest->files.size()) std::abort();
    return 0;
}
