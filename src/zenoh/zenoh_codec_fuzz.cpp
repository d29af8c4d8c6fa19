// libFuzzer target for the Zenoh codec and key expressions: decodes the input as one batch
// (transport messages and framed network messages) and as a bare network message. Whatever decodes
// must re-encode to bytes that decode again and re-encode identically (encode is idempotent over
// decode).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "zenoh/keyexpr.hpp"
#include "zenoh/transport_msg.hpp"

namespace {

using namespace dora::zenoh;

template <typename T>
std::vector<uint8_t> encoded(const T& m) {
    return encode_to_vector(m);
}

void check_network(const NetworkMessage& m) {
    auto first = encoded(m);
    Reader r(first);
    auto again = decode_network(r);
    if (!again || !r.empty() || encoded(*again) != first) {
        std::abort();
    }
}

void check_item(const BatchItem& item) {
    std::visit(
        [](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, FramedNetwork>) {
                check_network(m.message);
            } else if constexpr (!std::is_same_v<T, FrameHeader> && !std::is_same_v<T, Fragment>) {
                auto first = encoded(m);
                auto again = decode_single(first);
                if (!again || encoded(std::get<T>(*again)) != first) {
                    std::abort();
                }
            }
        },
        item);
}

// Input split at the first NUL into two key expressions: canonize must give canonical forms,
// and the relations must be consistent.
void check_keyexprs(std::string_view input) {
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos || input.size() > 512) {
        return;
    }
    // validate() (fast path) agrees with canonize(): valid exactly when already canonical.
    std::string_view raw = input.substr(0, nul);
    auto raw_canon = keyexpr::canonize(raw);
    if (static_cast<bool>(keyexpr::validate(raw)) != (raw_canon && *raw_canon == raw)) {
        std::abort();
    }
    auto a = keyexpr::canonize(input.substr(0, nul));
    auto b = keyexpr::canonize(input.substr(nul + 1));
    if (!a || !b) {
        return;
    }
    if (!keyexpr::validate(*a) || !keyexpr::validate(*b) || !keyexpr::includes(*a, *a)) {
        std::abort();
    }
    bool ab = keyexpr::intersects(*a, *b);
    if (ab != keyexpr::intersects(*b, *a)) {
        std::abort();
    }
    if ((keyexpr::includes(*a, *b) || keyexpr::includes(*b, *a)) && !ab) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Bytes input(data, size);
    BatchDecoder batch(input);
    for (size_t i = 0; i < size + 1; ++i) {
        auto item = batch.next();
        if (!item || !*item) {
            break;
        }
        check_item(**item);
    }
    check_keyexprs(as_string_view(input));
    Reader r(input);
    auto msg = decode_network(r);
    if (msg) {
        check_network(*msg);
    }
    return 0;
}
