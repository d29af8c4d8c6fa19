#include "cli/coordinator_client.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "core/net.hpp"
#include "message/auth.hpp"
#include "message/client_hello.hpp"
#include "tls/control_tls.hpp"

namespace dora::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds until(Clock::time_point deadline) {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

}  // namespace

void add_client_options(CLI::App* command, ClientOptions& options) {
    if (const char* addr = std::getenv("DORA_COORDINATOR_ADDR"); addr != nullptr && *addr != 0) {
        options.addr = addr;
    }
    if (const char* port = std::getenv("DORA_COORDINATOR_PORT"); port != nullptr && *port != 0) {
        uint16_t value = 0;
        auto [end, ec] = std::from_chars(port, port + std::strlen(port), value);
        if (ec != std::errc() || *end != 0 || value == 0) {
            throw Exception(
                Error::make("DORA_COORDINATOR_PORT=`{}` is not a port number (1-65535)", port));
        }
        options.port = value;
    }
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
    client.where_ = net::join_host_port(options.addr, options.port);
    auto fd = net::connect_tcp(options.addr, options.port, options.connect_timeout);
    if (!fd) {
        return fail(
            "cannot reach the dora coordinator at {} ({}): start one on this machine with "
            "`dora up` (coordinator and daemon) or `dora coordinator`, or point "
            "--coordinator-addr/--coordinator-port (or DORA_COORDINATOR_ADDR/"
            "DORA_COORDINATOR_PORT) at a running one",
            client.where_, fd.error().message());
    }
    client.fd_ = std::move(*fd);
    if (auto ok = client.hello(options); !ok) {
        return fail(ok.error().context(fmt::format("coordinator at {}", client.where_)));
    }
    return client;
}

Result<> CoordinatorClient::hello(const ClientOptions& options) {
    auto first = stream_.receive_blocking(fd_.get(), options.connect_timeout);
    if (!first) {
        return fail(first.error());
    }
    if (!*first) {
        return fail("no hello from the coordinator within {} ms (is this a dora coordinator?)",
                    options.connect_timeout.count());
    }
    coordinator_version_ = (**first).value("dora_version", std::string());
    auto token = message::load_token(
        options.token_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(options.token_file));
    if (!token) {
        return fail(token.error());
    }
    auto hello = message::answer_challenge(**first, "cli", version_text(), *token);
    if (!hello) {
        return fail(hello.error());
    }
    std::string binding;
    if (hello->tls) {
        auto context = tls::control_client_context();
        if (!context) {
            return fail(context.error());
        }
        auto secure = tls::control_client_stream(*context, fd_.get(), options.addr, where_);
        if (!secure) {
            return fail(secure.error());
        }
        if (auto ok = stream_.start_secure_blocking(fd_.get(), std::move(*secure),
                                                    options.connect_timeout);
            !ok) {
            return fail(ok.error());
        }
        binding = stream_.secure()->binding();
    }
    message::sign_hello(*hello, *token, std::move(binding));
    if (auto ok =
            stream_.send_blocking(fd_.get(), message::make(hello->hello), options.connect_timeout);
        !ok) {
        return fail(ok.error());
    }
    auto reply = stream_.receive_blocking(fd_.get(), options.connect_timeout);
    if (!reply) {
        return fail(reply.error());
    }
    if (!*reply) {
        return fail("no answer to the hello within {} ms", options.connect_timeout.count());
    }
    if (auto ok = message::check_welcome(**reply, *hello, *token); !ok) {
        return fail(ok.error());
    }
    return {};
}

std::string read_dataflow_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > message::kMaxFrameSize) {
        throw Exception(Error::make(
            "dataflow file {} is {}; {}, and the dataflow travels to the coordinator in one: "
            "make the file smaller (e.g. move large inline values into files the nodes read), "
            "or run it on one machine with `dora run`",
            path.string(), message::size_text(size), message::frame_limit_text()));
    }
    std::ifstream in(path);
    if (!in) {
        throw Exception(Error::make("cannot read the dataflow file {}", path.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Result<> CoordinatorClient::send(const message::CliRequest& request) {
    return stream_.send_blocking(fd_.get(), message::make(request), std::chrono::seconds(30));
}

Result<std::optional<message::CoordinatorToCli>> CoordinatorClient::receive(
    std::chrono::milliseconds timeout) {
    return receive_until(Clock::now() + timeout);
}

Result<std::optional<message::CoordinatorToCli>> CoordinatorClient::receive_until(
    Clock::time_point deadline) {
    auto json = stream_.receive_blocking(fd_.get(), until(deadline));
    if (!json) {
        return fail(json.error().context(fmt::format("coordinator at {}", where_)));
    }
    if (!*json) {
        return std::optional<message::CoordinatorToCli>();
    }
    auto decoded = message::decode<message::CoordinatorToCli>(
        **json,
        message::Versions{"CLI", version_text(), fmt::format("the coordinator at {}", where_),
                          coordinator_version_});
    if (!decoded) {
        return fail(decoded.error());
    }
    return std::optional<message::CoordinatorToCli>(std::move(*decoded));
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
    } else if (unit == "h") {
        factor = 3600000;
    }
    if (ec != std::errc() || factor == 0 || value < 0) {
        return fail("`{}` is not a duration: write seconds (5, 2.5) or a unit (500ms, 5s, 1m, 2h)",
                    text);
    }
    return std::chrono::milliseconds(static_cast<int64_t>(value * factor));
}

std::string format_log_line(const std::string& node, const std::string& machine,
                            const std::string& stream, const std::string& line) {
    if (node.empty()) {
        // About a daemon rather than a node (e.g. "daemon `edge1` unreachable ...").
        return fmt::format("dora: {:<9} {}\n", stream, line);
    }
    if (machine.empty()) {
        return fmt::format("{}: {:<9} {}\n", node, stream, line);
    }
    return fmt::format("{} on daemon `{}`: {:<9} {}\n", node, machine, stream, line);
}

void print_log_line(const std::string& node, const std::string& machine, std::string_view stream,
                    std::string_view line) {
    std::string text = format_log_line(node, machine, std::string(stream), std::string(line));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

void report_result(const message::DataflowResult& result, bool strict) {
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
    const uint64_t dropped = message::total_dropped(result.drops);
    if (failed == 0 && dropped != 0 && (strict || !result.success)) {
        throw Exception(Error::make(
            "dataflow {} failed: it {}, and drops are failures here (`--strict`, or `strict: "
            "true` in the dataflow); the lines above with \"dropped\" say where and what to do",
            result.dataflow_id, message::finished_line(result.drops)));
    }
    if (failed != 0 || !result.success) {
        throw Exception(Error::make("dataflow {} failed: {} of {} node(s) failed ({})",
                                    result.dataflow_id, failed, result.results.size(), names));
    }
    std::cerr << "dataflow " << result.dataflow_id << " " << message::finished_line(result.drops)
              << "\n";
}

}  // namespace dora::cli
