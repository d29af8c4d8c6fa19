// Text from peers in log lines, and log lines that cannot flood. escape_for_log() turns bytes a
// peer chose (a key expression, a hello's role, a request line) into one printable line: control
// characters, bytes that are not UTF-8 and backslashes become escapes, and the text is cut to a
// budget with the full length named, so a log line cannot be forged, split or blown up by what a
// peer sends. LogThrottle lets a repeated event (an accept error, a refused connection) reach the
// log at most once per interval and counts the ones it held back.
//
// Thread safety: escape_for_log is a pure function; a LogThrottle is one owner's (no locking).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dora {

inline constexpr size_t kLogTextBudget = 200;

// `bytes` as printable UTF-8 text: valid UTF-8 that is not a control character is kept; '\\' is
// doubled; \n, \r, \t become "\n", "\r", "\t"; other control characters (C0, DEL, C1) and bytes
// that are not UTF-8 become "\xNN". Beyond `budget` input bytes the rest is left out and
// "…(N bytes)" (N: the whole input's size) follows.
[[nodiscard]] std::string escape_for_log(std::string_view bytes, size_t budget = kLogTextBudget);

// At most one report per `interval`: admit() says whether this event may be logged now and, if
// so, how many events were held back since the last report.
class LogThrottle {
  public:
    using Clock = std::chrono::steady_clock;
    explicit LogThrottle(Clock::duration interval = std::chrono::seconds(1))
        : interval_(interval) {}

    // nullopt: hold this one back (it is counted). Otherwise the number held back before it.
    [[nodiscard]] std::optional<uint64_t> admit(Clock::time_point now);
    // Events held back and not yet reported.
    [[nodiscard]] uint64_t held_back() const { return held_back_; }

  private:
    Clock::duration interval_;
    std::optional<Clock::time_point> last_;
    uint64_t held_back_ = 0;
};

}  // namespace dora
