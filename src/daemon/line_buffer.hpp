// Splits a byte stream into lines. Lines longer than kMaxLine are cut into pieces of that size
// so a node that never writes a newline cannot make the daemon buffer without bound.
//
// Thread safety: a plain value.
#pragma once

#include <string>
#include <string_view>

namespace dora::daemon {

class LineBuffer {
  public:
    static constexpr size_t kMaxLine = 64 * 1024;

    // Appends bytes and calls `on_line(std::string_view)` for each complete line (without '\n'
    // and a trailing '\r').
    template <typename F>
    void feed(std::string_view bytes, F&& on_line) {
        while (!bytes.empty()) {
            auto nl = bytes.find('\n');
            if (nl == std::string_view::npos) {
                pending_.append(bytes);
                while (pending_.size() >= kMaxLine) {
                    on_line(std::string_view(pending_).substr(0, kMaxLine));
                    pending_.erase(0, kMaxLine);
                }
                return;
            }
            pending_.append(bytes.substr(0, nl));
            bytes.remove_prefix(nl + 1);
            std::string_view line(pending_);
            if (!line.empty() && line.back() == '\r') {
                line.remove_suffix(1);
            }
            on_line(line);
            pending_.clear();
        }
    }

    // At end of stream: the last line if it had no newline.
    template <typename F>
    void flush(F&& on_line) {
        if (!pending_.empty()) {
            on_line(std::string_view(pending_));
            pending_.clear();
        }
    }

  private:
    std::string pending_;
};

}  // namespace dora::daemon
