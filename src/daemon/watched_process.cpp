#include "daemon/watched_process.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace dora::daemon {

namespace {
constexpr int kMaxReadsPerEvent = 16;  // bounded: other events get their turn
}  // namespace

WatchedProcess::WatchedProcess(LineHandler on_line, ExitHandler on_exit)
    : on_line_(std::move(on_line)), on_exit_(std::move(on_exit)) {}

Result<std::unique_ptr<WatchedProcess>> WatchedProcess::spawn(EventLoop& loop,
                                                              const SpawnSpec& spec,
                                                              LineHandler on_line,
                                                              ExitHandler on_exit) {
    auto spawned = spawn_process(spec);
    if (!spawned) {
        return fail(spawned.error());
    }
    std::unique_ptr<WatchedProcess> self(
        new WatchedProcess(std::move(on_line), std::move(on_exit)));
    self->pid_ = spawned->process.pid();
    self->process_ = std::move(spawned->process);
    if (auto ok = self->watch(loop, self->out_, std::move(spawned->stdout_fd)); !ok) {
        return fail(ok.error());  // the destructor kills and reaps the process
    }
    if (auto ok = self->watch(loop, self->err_, std::move(spawned->stderr_fd)); !ok) {
        return fail(ok.error());
    }
    WatchedProcess* raw = self.get();
    self->exit_watch_ = loop.watch_child(self->pid_, [raw](int status) { raw->on_exit(status); });
    return self;
}

Result<> WatchedProcess::watch(EventLoop& loop, Stream& stream, sys::UniqueFd fd) {
    auto watch = loop.watch(std::move(fd), EPOLLIN, [this, &stream](uint32_t) { drain(stream); });
    if (!watch) {
        return fail(watch.error());
    }
    stream.watch = std::move(*watch);
    return {};
}

void WatchedProcess::drain(Stream& stream) {
    char buffer[65536];
    auto deliver = [&](std::string_view line) { on_line_(stream.name, line); };
    for (int round = 0; round < kMaxReadsPerEvent && stream.watch.active(); ++round) {
        auto n = sys::read_some(stream.watch.fd(), buffer, sizeof buffer);
        if (n && !*n) {
            return;  // nothing more now
        }
        if (n && **n > 0) {
            stream.lines.feed(std::string_view(buffer, **n), deliver);
            continue;
        }
        // End of the stream (or a read error, which ends it just the same).
        stream.lines.flush(deliver);
        stream.watch.reset();
        return;
    }
}

void WatchedProcess::on_exit(int status) {
    process_.reaped();
    // What the process wrote before exiting belongs to it: read what the pipes hold now. Pipes
    // may stay open in grandchildren, so do not wait for their end.
    for (Stream* stream : {&out_, &err_}) {
        drain(*stream);
        if (stream->watch.active()) {
            stream->lines.flush([&](std::string_view line) { on_line_(stream->name, line); });
            stream->watch.reset();
        }
    }
    auto handler = std::move(on_exit_);
    handler(status);  // last: it may destroy this object
}

}  // namespace dora::daemon
