#include "cli/coordinator_client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "message/auth.hpp"

namespace dora::cli {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// One non-blocking connect attempt to `address`, waiting until `deadline`.
Result<sys::UniqueFd> connect_one(const addrinfo& address, Clock::time_point deadline) {
    sys::UniqueFd fd(
        ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("socket"));
    }
    if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            return fail(sys::errno_error("connect"));
        }
        pollfd p{fd.get(), POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
            return fail("connect: timed out");
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            return fail(sys::errno_error("connect", err));
        }
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

void add_client_options(CLI::App* command, ClientOptions& options) {
    command->add_option("--coordinator-addr", options.addr, "Address of the dora coordinator")
        ->envname("DORA_COORDINATOR_ADDR")
        ->capture_default_str();
    command->add_option("--coordinator-port", options.port, "Control port of the dora coordinator")
        ->envname("DORA_COORDINATOR_PORT")
        ->capture_default_str();
    command->add_option("--token-file", options.token_file,
                        "File with the cluster token (else DORA_TOKEN or ~/.config/dora/token)");
}

Result<CoordinatorClient> CoordinatorClient::connect(const ClientOptions& options) {
    CoordinatorClient client;
    client.where_ = fmt::format("{}:{}", options.addr, options.port);
    auto unreachable = [&](const std::string& why) {
        return fail(
            "cannot reach the dora coordinator at {} ({}): start one on this machine with "
            "`dora up` (coordinator and daemon) or `dora coordinator`, or point "
            "--coordinator-addr/--coordinator-port at a running one",
            client.where_, why);
    };
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string port = std::to_string(options.port);
    if (int rc = ::getaddrinfo(options.addr.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return unreachable(::gai_strerror(rc));
    }
    auto deadline = Clock::now() + options.connect_timeout;
    std::string why = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        auto fd = connect_one(*a, deadline);
        if (fd) {
            client.fd_ = std::move(*fd);
            break;
        }
        why = fd.error().message();
    }
    ::freeaddrinfo(found);
    if (!client.fd_.valid()) {
        return unreachable(why);
    }
    if (auto ok = client.hello(options); !ok) {
        return fail(ok.error().context(fmt::format("coordinator at {}", client.where_)));
    }
    return client;
}

Result<> CoordinatorClient::hello(const ClientOptions& options) {
    auto challenge_json = receive(options.connect_timeout);
    if (!challenge_json) {
        return fail(challenge_json.error());
    }
    if (!*challenge_json) {
        return fail("no hello from the coordinator within {} ms (is this a dora coordinator?)",
                    options.connect_timeout.count());
    }
    if ((**challenge_json)["type"] == message::ErrorMessage::kType) {
        return fail("{}", (**challenge_json).value("message", std::string()));
    }
    auto challenge = message::parse_as<message::Challenge>(**challenge_json);
    if (!challenge) {
        return fail(challenge.error());
    }
    auto token = message::load_token(
        options.token_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(options.token_file));
    if (!token) {
        return fail(token.error());
    }
    message::Hello hello;
    hello.dora_version = version_text();
    hello.role = "cli";
    if (*token) {
        hello.proof = message::hmac_proof(**token, challenge->nonce);
    }
    auto welcome = request(message::make(hello), message::Welcome::kType, options.connect_timeout);
    if (!welcome) {
        return fail(welcome.error());
    }
    return {};
}

Result<> CoordinatorClient::send(const nlohmann::json& message) {
    std::string frame = message::encode_frame(message);
    std::string_view rest = frame;
    while (!rest.empty()) {
        ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                pollfd p{fd_.get(), POLLOUT, 0};
                ::poll(&p, 1, 1000);
                continue;
            }
            return fail(sys::errno_error("sending to the coordinator"));
        }
        rest.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<std::optional<nlohmann::json>> CoordinatorClient::receive(
    std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto m = reader_.next();
        if (!m) {
            return fail(m.error());
        }
        if (*m) {
            return m;
        }
        pollfd p{fd_.get(), POLLIN, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) {
            return fail(sys::errno_error("poll"));
        }
        if (ready <= 0) {
            if (Clock::now() >= deadline) {
                return std::optional<nlohmann::json>();
            }
            continue;
        }
        char buffer[65536];
        ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
        if (n == 0) {
            return fail("the coordinator at {} closed the connection", where_);
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return fail(sys::errno_error("reading from the coordinator"));
        }
        reader_.feed(std::string_view(buffer, static_cast<size_t>(n)));
    }
}

Result<nlohmann::json> CoordinatorClient::request(const nlohmann::json& message,
                                                  std::string_view expected_type,
                                                  std::chrono::milliseconds timeout) {
    if (auto ok = send(message); !ok) {
        return fail(ok.error());
    }
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto reply = receive(std::chrono::milliseconds(remaining_ms(deadline)));
        if (!reply) {
            return fail(reply.error());
        }
        if (!*reply) {
            return fail("no reply from the coordinator at {} within {} s", where_,
                        static_cast<double>(timeout.count()) / 1000.0);
        }
        const std::string type = (**reply)["type"];
        if (type == message::ErrorMessage::kType) {
            return fail("{}", (**reply).value("message", std::string()));
        }
        if (type == expected_type) {
            return std::move(**reply);
        }
        // Anything else (a heartbeat, a stray event) is not the reply.
    }
}

CoordinatorClient connect_or_throw(const ClientOptions& options) {
    return or_throw(CoordinatorClient::connect(options));
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    double factor = 0;
    if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs") {
        factor = 1000;
    } else if (unit == "ms") {
        factor = 1;
    } else if (unit == "m" || unit == "min") {
        factor = 60000;
    }
    if (ec != std::errc() || factor == 0 || value < 0) {
        return fail("`{}` is not a duration: write seconds (5, 2.5) or a unit (500ms, 5s, 1m)",
                    text);
    }
    return std::chrono::milliseconds(static_cast<int64_t>(value * factor));
}

std::string format_log_line(const std::string& node, const std::string& machine,
                            const std::string& stream, const std::string& line) {
    if (machine.empty()) {
        return fmt::format("{}: {:<9} {}\n", node, stream, line);
    }
    return fmt::format("{} on daemon `{}`: {:<9} {}\n", node, machine, stream, line);
}

void report_result(const message::DataflowResult& result) {
    size_t failed = 0;
    std::string names;
    for (const auto& r : result.results) {
        if (r.success) {
            continue;
        }
        ++failed;
        names += (names.empty() ? "" : ", ") + r.node_id;
        std::cerr << "node " << r.node_id
                  << (r.machine_id.empty() ? "" : " on daemon `" + r.machine_id + "`")
                  << " failed: it " << r.status
                  << (r.killed_after_grace ? " (killed: it did not stop within the grace duration)"
                                           : "")
                  << "\n";
        if (!r.stderr_tail.empty()) {
            std::cerr << "  last lines of its stderr:\n";
            for (const auto& line : r.stderr_tail) {
                std::cerr << "    " << line << "\n";
            }
        }
    }
    if (!result.error.empty()) {
        throw Exception(Error::make("dataflow {} failed: {}", result.dataflow_id, result.error));
    }
    if (failed != 0 || !result.success) {
        throw Exception(Error::make("dataflow {} failed: {} of {} node(s) failed ({})",
                                    result.dataflow_id, failed, result.results.size(), names));
    }
    std::cerr << "dataflow " << result.dataflow_id << " finished successfully\n";
}

}  // namespace dora::cli
