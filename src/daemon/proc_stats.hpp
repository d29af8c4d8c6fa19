// What a node's process uses, read from Linux's /proc: CPU time and start time from
// /proc/<pid>/stat, resident memory from /proc/<pid>/statm, summed over the process and its
// descendants (found through /proc/<pid>/task/<tid>/children), as dora 1.x sums a node's
// children: a `shell` node's work is often done by a child of `sh`.
//
// CPU % (CpuMeter) is a share of one core (200 on two busy cores), over a window:
//  - the first sample of a process: its average since it started (CPU time / time alive);
//  - later samples: the average since the sample that opened the current window, once that is at
//    least kMinCpuWindow old (the window then closes and a new one opens); a sample taken sooner
//    (two clients asking at once) repeats the last closed window's value instead of dividing by
//    a few milliseconds.
// A daemon keeps one CpuMeter per dataflow, so `dora top` refreshing once a second shows each
// node's CPU % over the last second.
//
// Thread safety: parse functions are pure; read_process_usage reads /proc; CpuMeter is a plain
// value used by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::daemon {

// The fields of /proc/<pid>/stat that we use; times in clock ticks (sysconf(_SC_CLK_TCK)).
struct ProcStat {
    char state = '?';  // R, S, D, Z, T, ...
    int64_t ppid = 0;
    uint64_t utime = 0;
    uint64_t stime = 0;
    uint64_t cutime = 0;  // of its children that it waited for
    uint64_t cstime = 0;
    uint64_t starttime = 0;  // since boot
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself: the fields are read after its last ')'.
[[nodiscard]] Result<ProcStat> parse_proc_stat(std::string_view text);
// Parses /proc/<pid>/statm: the resident set, in pages (its second field).
[[nodiscard]] Result<uint64_t> parse_statm_resident_pages(std::string_view text);

// A process with its descendants.
struct ProcessUsage {
    uint64_t cpu_ns = 0;  // user + system, of reaped children too
    uint64_t rss_bytes = 0;
    uint64_t start_ns = 0;   // when the process started, on the CLOCK_BOOTTIME scale
    uint32_t processes = 0;  // itself and its live descendants
};

// Reads `pid` and its live descendants (at most kMaxDescendants). Fails when `pid` itself cannot
// be read (it has exited and been reaped); descendants that vanish meanwhile are skipped.
[[nodiscard]] Result<ProcessUsage> read_process_usage(pid_t pid);
inline constexpr uint32_t kMaxDescendants = 4096;

// CLOCK_BOOTTIME in nanoseconds: the clock /proc's start times are measured on.
[[nodiscard]] uint64_t boottime_ns();

inline constexpr std::chrono::milliseconds kMinCpuWindow{250};

class CpuMeter {
  public:
    // CPU % of process `pid`, known as `key`, with `usage` sampled at `now_ns` (boottime).
    [[nodiscard]] double sample(const std::string& key, pid_t pid, const ProcessUsage& usage,
                                uint64_t now_ns);
    // Forgets every key not sampled since the last call (nodes gone).
    void forget_unsampled();

  private:
    struct Window {
        pid_t pid = 0;
        uint64_t cpu_ns = 0;  // at the window's start
        uint64_t start_ns = 0;
        double last_percent = 0;
        bool sampled = false;
    };
    std::map<std::string, Window> windows_;
};

// cpu_ns over elapsed_ns, as a percentage of one core; 0 when no time passed.
[[nodiscard]] double cpu_percent(uint64_t cpu_ns, uint64_t elapsed_ns);

}  // namespace dora::daemon
