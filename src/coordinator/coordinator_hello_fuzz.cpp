// Fuzzes the coordinator's side of a connection: arbitrary bytes arrive on a freshly accepted
// connection (daemon or control port, chosen by the first byte) and go through the frame reader,
// the hello check and, when the input carries a valid hello (no token, loopback peer), the
// message dispatch. Whatever arrives, the coordinator must not crash, hang or leak.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "coordinator/coordinator.hpp"

using namespace std::chrono_literals;

namespace {

void drain(int fd) {
    char buffer[65536];
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    // A loop per input: a `cli.destroy` input stops its loop for good.
    auto created = dora::EventLoop::create();
    if (!created) {
        return 0;
    }
    auto& loop = **created;
    dora::coordinator::CoordinatorOptions options;
    options.listen = false;
    options.dora_version = "fuzz";
    options.log = [](const std::string&) {};
    auto coordinator = dora::coordinator::Coordinator::create(loop, options);
    if (!coordinator) {
        return 0;
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        return 0;
    }
    auto port = (data[0] & 1) ? dora::coordinator::Coordinator::Port::kDaemon
                              : dora::coordinator::Coordinator::Port::kControl;
    (*coordinator)->adopt(dora::sys::UniqueFd(fds[0]), port, "fuzz", true);
    size_t offset = 1;
    for (int round = 0; round < 1000 && offset < size; ++round) {
        ssize_t n = ::write(fds[1], data + offset, size - offset);
        if (n > 0) {
            offset += static_cast<size_t>(n);
        }
        loop.run_once(0ms);
        drain(fds[1]);
    }
    for (int round = 0; round < 4; ++round) {
        loop.run_once(0ms);
        drain(fds[1]);
    }
    ::close(fds[1]);
    loop.run_once(0ms);
    coordinator->reset();
    loop.run_once(0ms);  // posted clean-ups of the destroyed coordinator are no-ops
    return 0;
}
