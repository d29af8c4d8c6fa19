#include "message/control.hpp"

#include <cstring>

#include "core/sys.hpp"

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

std::string size_text(uint64_t bytes) {
    return fmt::format("{} bytes ({:.1f} MiB)", bytes, static_cast<double>(bytes) / (1 << 20));
}

std::string frame_limit_text() {
    return fmt::format("the control channel carries at most {} MiB ({} bytes) per message",
                       kMaxFrameSize >> 20, kMaxFrameSize);
}

Result<std::string> encode_frame_checked(const nlohmann::json& message) {
    std::string frame = encode_frame(message);
    if (frame.size() - 4 > kMaxFrameSize) {
        return fail(Error::make("a `{}` control message is {}: {}; nothing was sent",
                                message.value("type", std::string("?")),
                                size_text(frame.size() - 4), frame_limit_text())
                        .with_code(kFrameTooLarge));
    }
    return frame;
}

Result<std::optional<nlohmann::json>> FrameReader::next() {
    if (large_frame_read_) {
        large_frame_read_ = false;
        if (offset_ == buffer_.size()) {
            buffer_ = std::string();
            offset_ = 0;
        }
        sys::return_free_heap();
    }
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
            "a control message announces {}, over the limit: {}; the peer is not a dora peer "
            "of this version, or is broken",
            size_text(n), frame_limit_text());
    }
    if (buffer_.size() - offset_ - 4 < n) {
        return std::optional<nlohmann::json>();
    }
    std::string_view body(buffer_.data() + offset_ + 4, n);
    auto json = nlohmann::json::parse(body, nullptr, false);
    // Compact only after parsing: erasing moves the bytes `body` points at.
    offset_ += 4 + n;
    large_frame_read_ = n >= kLargeFrameBytes;
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
