#include "daemon/proc_stats.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <vector>

#include "core/sys.hpp"

namespace dora::daemon {

namespace {

// The next space-separated field of `text`, advancing it.
std::string_view next_field(std::string_view& text) {
    size_t start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) {
        text = {};
        return {};
    }
    text.remove_prefix(start);
    size_t end = text.find_first_of(" \n");
    std::string_view field = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    return field;
}

template <typename T>
bool parse_number(std::string_view field, T& out) {
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
    return ec == std::errc() && end == field.data() + field.size() && !field.empty();
}

// A small /proc file, whole (they are generated; one read is not guaranteed to get all of it).
Result<std::string> read_proc_file(const std::string& path) {
    sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return fail(sys::errno_error("cannot open " + path));
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(sys::errno_error("cannot read " + path));
        }
        if (n == 0) break;
        text.append(buffer, static_cast<size_t>(n));
    }
    return text;
}

uint64_t ticks_to_ns(uint64_t ticks) {
    static const uint64_t kTicksPerSecond = [] {
        long hz = ::sysconf(_SC_CLK_TCK);
        return hz > 0 ? static_cast<uint64_t>(hz) : 100;
    }();
    return ticks * (1'000'000'000 / kTicksPerSecond);
}

uint64_t page_size() {
    static const uint64_t kPageSize = [] {
        long size = ::sysconf(_SC_PAGESIZE);
        return size > 0 ? static_cast<uint64_t>(size) : 4096;
    }();
    return kPageSize;
}

// Reads the /proc file `path` and parses it with `parse`; errors name the file.
template <typename Parse>
auto read_parsed(const std::string& path, Parse parse) -> decltype(parse(std::string_view())) {
    auto text = read_proc_file(path);
    if (!text) {
        return fail(text.error());
    }
    auto parsed = parse(*text);
    if (!parsed) {
        return fail(parsed.error().context(path));
    }
    return parsed;
}

// One process alone: its times and resident memory.
Result<ProcessUsage> read_one(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    auto stat = read_parsed(dir + "/stat", parse_proc_stat);
    if (!stat) {
        return fail(stat.error());
    }
    ProcessUsage usage;
    usage.cpu_ns = ticks_to_ns(stat->utime + stat->stime + stat->cutime + stat->cstime);
    usage.start_ns = ticks_to_ns(stat->starttime);
    usage.processes = 1;
    if (stat->state != 'Z') {  // a zombie has no memory left (and no statm to speak of)
        auto pages = read_parsed(dir + "/statm", parse_statm_resident_pages);
        if (!pages) {
            return fail(pages.error());
        }
        usage.rss_bytes = *pages * page_size();
    }
    return usage;
}

// The children of every thread of `pid` (a child belongs to the thread that forked it).
std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> children;
    std::error_code ec;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
        auto text = read_proc_file((task.path() / "children").string());
        if (!text) {
            continue;
        }
        std::string_view rest = *text;
        for (auto field = next_field(rest); !field.empty(); field = next_field(rest)) {
            pid_t child = 0;
            if (parse_number(field, child)) {
                children.push_back(child);
            }
        }
    }
    return children;
}

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view text) {
    const size_t close = text.rfind(')');
    if (close == std::string_view::npos || text.find('(') > close) {
        return fail("not a /proc/<pid>/stat line: no `(command)` field");
    }
    std::string_view rest = text.substr(close + 1);
    // Fields 3 onwards; we need up to 22 (starttime).
    std::vector<std::string_view> fields;
    for (auto field = next_field(rest); !field.empty() && fields.size() < 20;
         field = next_field(rest)) {
        fields.push_back(field);
    }
    if (fields.size() < 20) {
        return fail("a /proc/<pid>/stat line with {} fields after the command, 20 needed",
                    fields.size());
    }
    ProcStat stat;
    if (fields[0].size() != 1) {
        return fail("a /proc/<pid>/stat line with state `{}`", fields[0]);
    }
    stat.state = fields[0][0];
    // Field n is fields[n - 3].
    const bool ok = parse_number(fields[1], stat.ppid) && parse_number(fields[11], stat.utime) &&
                    parse_number(fields[12], stat.stime) && parse_number(fields[13], stat.cutime) &&
                    parse_number(fields[14], stat.cstime) &&
                    parse_number(fields[19], stat.starttime);
    if (!ok) {
        return fail("a /proc/<pid>/stat line whose ppid, times or start time are not numbers");
    }
    return stat;
}

Result<uint64_t> parse_statm_resident_pages(std::string_view text) {
    auto size = next_field(text);
    auto resident = next_field(text);
    uint64_t pages = 0;
    uint64_t total = 0;
    if (!parse_number(size, total) || !parse_number(resident, pages)) {
        return fail("not a /proc/<pid>/statm line (two numbers of pages expected)");
    }
    return pages;
}

Result<ProcessUsage> read_process_usage(pid_t pid) {
    auto usage = read_one(pid);
    if (!usage) {
        return fail(usage.error());
    }
    std::vector<pid_t> pending = children_of(pid);
    while (!pending.empty() && usage->processes < kMaxDescendants) {
        const pid_t child = pending.back();
        pending.pop_back();
        auto one = read_one(child);
        if (!one) {
            continue;  // exited meanwhile
        }
        usage->cpu_ns += one->cpu_ns;
        usage->rss_bytes += one->rss_bytes;
        ++usage->processes;
        for (pid_t grandchild : children_of(child)) {
            pending.push_back(grandchild);
        }
    }
    return usage;
}

uint64_t boottime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

double cpu_percent(uint64_t cpu_ns, uint64_t elapsed_ns) {
    if (elapsed_ns == 0) {
        return 0;
    }
    return 100.0 * static_cast<double>(cpu_ns) / static_cast<double>(elapsed_ns);
}

double CpuMeter::sample(const std::string& key, pid_t pid, const ProcessUsage& usage,
                        uint64_t now_ns) {
    Window& window = windows_[key];
    window.sampled = true;
    if (window.pid != pid) {  // a new process (first sample, or restarted)
        const uint64_t alive = now_ns > usage.start_ns ? now_ns - usage.start_ns : 0;
        window = Window{pid, usage.cpu_ns, now_ns, cpu_percent(usage.cpu_ns, alive), true};
        return window.last_percent;
    }
    const uint64_t elapsed = now_ns > window.start_ns ? now_ns - window.start_ns : 0;
    if (elapsed < static_cast<uint64_t>(std::chrono::nanoseconds(kMinCpuWindow).count())) {
        return window.last_percent;
    }
    // A descendant's CPU time leaves the sum when it exits unreaped: never below zero.
    const uint64_t used = usage.cpu_ns > window.cpu_ns ? usage.cpu_ns - window.cpu_ns : 0;
    window.last_percent = cpu_percent(used, elapsed);
    window.cpu_ns = usage.cpu_ns;
    window.start_ns = now_ns;
    return window.last_percent;
}

void CpuMeter::forget_unsampled() {
    std::erase_if(windows_, [](const auto& entry) { return !entry.second.sampled; });
    for (auto& [key, window] : windows_) {
        window.sampled = false;
    }
}

}  // namespace dora::daemon
