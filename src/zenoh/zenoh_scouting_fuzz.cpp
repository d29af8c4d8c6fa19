// libFuzzer target for the scouting decoder (SCOUT/HELLO datagrams from the multicast group,
// from anyone on the link). Any input must decode or fail cleanly; what decodes re-encodes to
// a datagram that decodes to the same message.
#include <cstdint>
#include <cstdlib>

#include "zenoh/scouting.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dora::zenoh;
    auto message = decode_scouting(Bytes(data, size));
    if (!message) {
        return 0;
    }
    std::vector<uint8_t> again;
    Writer w(again);
    std::visit([&](const auto& m) { encode(w, m); }, *message);
    auto round = decode_scouting(again);
    if (!round) {
        std::abort();
    }
    if (const auto* hello = std::get_if<Hello>(&*message)) {
        const auto* back = std::get_if<Hello>(&*round);
        if (back == nullptr || !(back->zid == hello->zid) || back->locators != hello->locators) {
            std::abort();
        }
    }
    return 0;
}
