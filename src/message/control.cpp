#include "message/control.hpp"

#include <cstring>

namespace dora::message {

std::string encode_frame(const nlohmann::json& message) {
    std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string frame(4, '\0');
    auto n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) {
        frame[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    }
    frame += body;
    return frame;
}

Result<std::optional<nlohmann::json>> FrameReader::next() {
    if (buffer_.size() - offset_ < 4) {
        return std::optional<nlohmann::json>();
    }
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) {
        n |= static_cast<uint32_t>(static_cast<uint8_t>(buffer_[offset_ + static_cast<size_t>(i)]))
             << (8 * i);
    }
    if (n > kMaxFrameSize) {
        return fail(
            "a control message announces {} bytes, more than the limit of {}: the peer "
            "is not a dora peer of this version, or is broken",
            n, kMaxFrameSize);
    }
    if (buffer_.size() - offset_ - 4 < n) {
        return std::optional<nlohmann::json>();
    }
    std::string_view body(buffer_.data() + offset_ + 4, n);
    auto json = nlohmann::json::parse(body, nullptr, false);
    // Compact only after parsing: erasing moves the bytes `body` points at.
    offset_ += 4 + n;
    if (offset_ > buffer_.size() / 2) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    if (json.is_discarded() || !json.is_object() || !json.contains("type") ||
        !json["type"].is_string()) {
        return fail("a control message is not a JSON object with a \"type\"");
    }
    return std::optional<nlohmann::json>(std::move(json));
}

nlohmann::json with_type(std::string_view type, nlohmann::json message) {
    if (!message.is_object()) {
        message = nlohmann::json::object();
    }
    message["type"] = type;
    return message;
}

}  // namespace dora::message
