// `dora top [DATAFLOW]` and its dora 1.x spelling `dora inspect top`: the `dora node list` table
// of every running dataflow (or one), refreshed every --refresh-interval seconds (1 by default)
// in the terminal's alternate screen, sorted by a key (c CPU, m memory, n name, d drops; the same
// key again reverses), q to quit. Besides the `node list` columns it shows MSG/S: the messages
// per second that entered each node's inputs since the previous refresh. Plain ANSI: alternate
// screen, cursor home, clear to the end; the terminal is restored on q, on an error, and on
// SIGINT/SIGTERM/SIGHUP.
//
// Without a terminal it refuses and names what works there: `dora node list`, `--once` (one JSON
// snapshot, as dora 1.x's `dora top --once`) or `--iterations N` (N plain tables, like top -b -n).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/node_table.hpp"
#include "core/sys.hpp"

namespace dora::cli {
namespace {

struct TopOptions {
    ClientOptions client;
    std::string dataflow;
    double refresh_seconds = 1.0;
    bool once = false;
    int iterations = 0;
};

// The coordinator connection, made again after it was lost.
class StatsSource {
  public:
    explicit StatsSource(const TopOptions& options) : options_(options) {}

    Result<message::NodeStatsReply> fetch() {
        if (!client_) {
            auto connected = CoordinatorClient::connect(options_.client);
            if (!connected) {
                return fail(connected.error());
            }
            client_.emplace(std::move(*connected));
        }
        auto reply = client_->request<message::NodeStatsReply>(
            message::CliNodeStats{options_.dataflow}, std::chrono::seconds(5));
        if (!reply) {
            client_.reset();  // start over at the next refresh
        }
        return reply;
    }

  private:
    const TopOptions& options_;
    std::optional<CoordinatorClient> client_;
};

struct View {
    SortKey key = SortKey::kCpu;
    bool descending = true;
    std::string dataflow;
    std::vector<NodeRow> previous;  // the last snapshot, for the rates
    Rates rates;                    // messages per second into each node since it

    // A new snapshot arrived: the rates since the previous one.
    void update(const Result<message::NodeStatsReply>& reply) {
        if (!reply) {
            return;
        }
        auto rows = rows_of(*reply);
        rates = input_rates(previous, rows);
        previous = std::move(rows);
    }

    // c, m, n, d: sort; the key in use again reverses. False for any other key.
    bool press(char c) {
        SortKey pressed;
        switch (c) {
            case 'c':
                pressed = SortKey::kCpu;
                break;
            case 'm':
                pressed = SortKey::kMemory;
                break;
            case 'n':
                pressed = SortKey::kName;
                break;
            case 'd':
                pressed = SortKey::kDrops;
                break;
            default:
                return false;
        }
        descending = pressed == key ? !descending : pressed != SortKey::kName;
        key = pressed;
        return true;
    }
};

std::string clock_text() {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[16];
    std::strftime(text, sizeof text, "%H:%M:%S", &local);
    return text;
}

// The lines of one screen (or one --iterations block): two header lines, the table, notes.
std::vector<std::string> screen_lines(const Result<message::NodeStatsReply>& reply,
                                      const View& view, double refresh) {
    std::vector<std::string> lines;
    if (!reply) {
        lines.push_back(fmt::format("dora top  {}  (refresh {:g} s)\n", clock_text(), refresh));
        lines.push_back("error: " + reply.error().message() + "\n");
        lines.push_back("(trying again at the next refresh; q quits)\n");
        return lines;
    }
    auto rows = rows_of(*reply);
    sort_rows(rows, view.key, view.descending);
    lines.push_back(fmt::format("dora top  {}  {} node(s) in {} dataflow(s)  (refresh {:g} s)\n",
                                clock_text(), rows.size(), reply->dataflows.size(), refresh));
    lines.push_back(
        fmt::format("sort: {} {}  |  keys: c cpu  m memory  n name  d drops "
                    "(again: reverse)  q quit\n",
                    sort_key_name(view.key), view.descending ? "descending" : "ascending"));
    if (rows.empty()) {
        lines.push_back(view.dataflow.empty() ? "(no running dataflows)\n" : "(no nodes)\n");
        return lines;
    }
    auto table =
        table_lines(rows, view.dataflow.empty() && reply->dataflows.size() > 1, &view.rates);
    lines.insert(lines.end(), table.begin(), table.end());
    for (const auto& note : answer_notes(*reply)) {
        lines.push_back("note: " + note + "\n");
    }
    return lines;
}

// Signals that end (or redraw) the terminal view arrive here as bytes (the self-pipe).
int g_signal_pipe = -1;
extern "C" void on_top_signal(int sig) {
    const int saved = errno;
    const auto byte = static_cast<unsigned char>(sig);
    (void)!::write(g_signal_pipe, &byte, 1);
    errno = saved;
}

// The terminal in the state `dora top` needs, restored by the destructor: keys without Enter or
// echo, the alternate screen, the cursor hidden, and SIGINT/SIGTERM/SIGHUP/SIGWINCH reported on
// signal_fd() instead of killing the process.
class TerminalSession {
  public:
    TerminalSession() {
        if (::tcgetattr(STDIN_FILENO, &saved_) != 0) {
            throw Exception(sys::errno_error("dora top: cannot read the terminal's settings"));
        }
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw Exception(sys::errno_error("dora top: cannot make a pipe"));
        }
        read_end_ = sys::UniqueFd(fds[0]);
        write_end_ = sys::UniqueFd(fds[1]);
        g_signal_pipe = write_end_.get();
        struct sigaction action {};
        action.sa_handler = on_top_signal;
        sigemptyset(&action.sa_mask);
        for (size_t i = 0; i < kSignals.size(); ++i) {
            ::sigaction(kSignals[i], &action, &saved_actions_[i]);
        }
        termios raw = saved_;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        write("\x1b[?1049h\x1b[?25l");
    }
    ~TerminalSession() {
        write("\x1b[?25h\x1b[?1049l");
        ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        for (size_t i = 0; i < kSignals.size(); ++i) {
            ::sigaction(kSignals[i], &saved_actions_[i], nullptr);
        }
        g_signal_pipe = -1;
    }
    TerminalSession(const TerminalSession&) = delete;
    TerminalSession& operator=(const TerminalSession&) = delete;

    [[nodiscard]] int signal_fd() const { return read_end_.get(); }

    static void write(std::string_view text) { (void)sys::write_all(STDOUT_FILENO, text); }

    // Home, the lines (cut to the window), clear the rest.
    static void draw(const std::vector<std::string>& lines) {
        winsize size{};
        size_t rows = 24;
        size_t columns = 80;
        if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0) {
            rows = size.ws_row;
            columns = size.ws_col;
        }
        std::string frame = "\x1b[H";
        for (size_t i = 0; i < lines.size() && i < rows; ++i) {
            std::string line = lines[i].substr(0, lines[i].size() - 1);  // without '\n'
            if (line.size() > columns) line.resize(columns);
            frame += line + "\x1b[K" + (i + 1 < rows ? "\r\n" : "");
        }
        frame += "\x1b[J";
        write(frame);
    }

  private:
    static constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
    sys::UniqueFd read_end_;
    sys::UniqueFd write_end_;
    std::array<struct sigaction, 4> saved_actions_{};
    termios saved_{};
};

// Waits until the next refresh is due, handling keys and signals meanwhile. Returns the exit
// status when the view must end (0 for q, 128 + signal), else nullopt.
std::optional<int> wait_for_refresh(TerminalSession& terminal, View& view,
                                    std::chrono::steady_clock::time_point due,
                                    const Result<message::NodeStatsReply>& reply, double refresh) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            due - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {terminal.signal_fd(), POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) {
            continue;
        }
        unsigned char sig = 0;
        while (::read(terminal.signal_fd(), &sig, 1) == 1) {
            if (sig != SIGWINCH) {
                return 128 + sig;
            }
            TerminalSession::draw(screen_lines(reply, view, refresh));
        }
        char keys[64];
        const ssize_t n = (fds[0].revents & (POLLIN | POLLHUP)) != 0
                              ? ::read(STDIN_FILENO, keys, sizeof keys)
                              : -1;
        if (n == 0) {
            return 0;  // the terminal went away
        }
        bool redraw = false;
        for (ssize_t i = 0; i < n; ++i) {
            if (keys[i] == 'q' || keys[i] == 'Q') {
                return 0;
            }
            redraw = view.press(keys[i]) || redraw;
        }
        if (redraw) {
            TerminalSession::draw(screen_lines(reply, view, refresh));
        }
    }
}

int run_interactive(const TopOptions& options, StatsSource& source) {
    View view;
    view.dataflow = options.dataflow;
    const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.refresh_seconds));
    TerminalSession terminal;
    for (;;) {
        const auto due = std::chrono::steady_clock::now() + interval;
        auto reply = source.fetch();
        view.update(reply);
        TerminalSession::draw(screen_lines(reply, view, options.refresh_seconds));
        if (auto status = wait_for_refresh(terminal, view, due, reply, options.refresh_seconds)) {
            return *status;
        }
    }
}

void run_batch(const TopOptions& options, StatsSource& source) {
    View view;
    view.dataflow = options.dataflow;
    for (int i = 0; i < options.iterations; ++i) {
        if (i > 0) {
            std::this_thread::sleep_for(std::chrono::duration<double>(options.refresh_seconds));
        }
        auto reply = source.fetch();
        if (!reply) {
            throw Exception(reply.error());
        }
        view.update(reply);
        std::string out = i > 0 ? "\n" : "";
        for (const auto& line : screen_lines(reply, view, options.refresh_seconds)) out += line;
        std::cout << out << std::flush;
    }
}

void run_top(const TopOptions& options) {
    if (!(options.refresh_seconds >= 0.1 && options.refresh_seconds <= 3600)) {
        throw Exception(Error::make("--refresh-interval {}: give seconds from 0.1 to 3600",
                                    options.refresh_seconds));
    }
    StatsSource source(options);
    if (options.once) {
        auto reply = or_throw(source.fetch());
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& row : rows_of(reply)) nodes.push_back(json_of(row, true));
        std::cout << nodes.dump(2) << "\n";
        return;
    }
    if (options.iterations > 0) {
        run_batch(options, source);
        return;
    }
    if (::isatty(STDOUT_FILENO) == 0 || ::isatty(STDIN_FILENO) == 0) {
        throw Exception(Error::make(
            "`dora top` draws in a terminal, and its standard {} is not one; use `dora node "
            "list` (a table, or --format json), `dora top --once` (one JSON snapshot) or `dora "
            "top --iterations N` (N plain tables, one per refresh)",
            ::isatty(STDOUT_FILENO) == 0 ? "output" : "input"));
    }
    const int status = run_interactive(options, source);
    if (status != 0) {
        std::exit(status);  // a signal: the terminal is restored; exit as the signal asked
    }
}

void add_top_options(CLI::App* cmd, const std::shared_ptr<TopOptions>& options) {
    cmd->add_option("dataflow", options->dataflow, "Only this dataflow (UUID or name)");
    cmd->add_option("--refresh-interval", options->refresh_seconds,
                    "Seconds between refreshes (0.1 to 3600)")
        ->capture_default_str();
    auto* once = cmd->add_flag("--once", options->once,
                               "Print one JSON snapshot (an array of nodes) and exit");
    cmd->add_option("-n,--iterations", options->iterations,
                    "Print N plain tables, one per refresh, and exit (no terminal needed)")
        ->excludes(once)
        ->check(CLI::PositiveNumber);
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_top(*options); });
}

}  // namespace

void add_top_command(CLI::App& app) {
    add_top_options(app.add_subcommand("top", "Watch the nodes' CPU, memory and drops live"),
                    std::make_shared<TopOptions>());
    auto* inspect = app.add_subcommand("inspect", "Inspect running dataflows (dora 1.x)");
    inspect->require_subcommand(1);
    add_top_options(inspect->add_subcommand("top", "The same as `dora top`"),
                    std::make_shared<TopOptions>());
}

}  // namespace dora::cli
