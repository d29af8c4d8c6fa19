// libFuzzer target for the control plane's receive side, every direction: the input is a byte
// stream as a peer would send it (fed in chunks of a size the first byte picks) through the
// FrameReader, and every message that comes out is decoded as the hello messages and as each
// direction's message variant (what a CLI, a daemon and a coordinator accept).
//
// Properties: no input crashes, hangs or leaks; a message that decodes, built again with make(),
// decodes to the same alternative and builds to the same JSON (decode loses nothing it accepted).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "message/cli_to_coordinator.hpp"
#include "message/control.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace {

using namespace dora::message;

const Versions kVersions{"fuzzer", "fuzz", "the fuzz input", ""};

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

template <typename Variant>
void round_trip(const nlohmann::json& message) {
    auto decoded = decode<Variant>(message, kVersions);
    if (!decoded) {
        return;
    }
    const nlohmann::json built = make(*decoded);
    auto again = decode<Variant>(built, kVersions);
    check(again.has_value() && again->index() == decoded->index());
    check(make(*again) == built);
}

template <typename T>
void parse_hello(const nlohmann::json& message) {
    auto parsed = parse_as<T>(message);
    if (parsed) {
        check(parse_as<T>(make(*parsed)).has_value());
    }
}

void decode_everywhere(const nlohmann::json& message) {
    parse_hello<Challenge>(message);
    parse_hello<Hello>(message);
    round_trip<CliRequest>(message);
    round_trip<CoordinatorToCli>(message);
    round_trip<DaemonToCoordinator>(message);
    round_trip<CoordinatorToDaemon>(message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const size_t chunk = size_t{data[0]} + 1;
    std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    FrameReader reader;
    while (true) {
        const size_t n = std::min(chunk, stream.size());
        reader.feed(stream.substr(0, n));
        stream.remove_prefix(n);
        // Drain what is complete; a bad frame ends the connection, as it does for real.
        while (true) {
            auto next = reader.next();
            if (!next) {
                return 0;
            }
            if (!next->has_value()) {
                break;
            }
            decode_everywhere(**next);
        }
        if (stream.empty()) {
            return 0;
        }
    }
}
