// The CLI's side of the control plane: a blocking connection to the coordinator's control port
// (connect with a timeout, the hello with the cluster token, then frames with timeouts), and the
// flags every client verb shares (--coordinator-addr, --coordinator-port, --token-file).
//
// Thread safety: a CoordinatorClient is used by one thread at a time.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/framed_stream.hpp"

namespace dora::cli {

inline constexpr uint16_t kDefaultControlPort = 6012;
inline constexpr uint16_t kDefaultDaemonPort = 53290;

struct ClientOptions {
    std::string addr = "127.0.0.1";
    uint16_t port = kDefaultControlPort;
    std::string token_file;  // "" = DORA_TOKEN or the config dir's token
    std::chrono::milliseconds connect_timeout{3000};
};

// Adds --coordinator-addr, --coordinator-port and --token-file to `command`. Their defaults come
// from DORA_COORDINATOR_ADDR and DORA_COORDINATOR_PORT when set (as in dora), else 127.0.0.1:6012.
void add_client_options(CLI::App* command, ClientOptions& options);

// Reads a dataflow file to hand to the coordinator. A file over the control channel's limit per
// message is refused here, before anything is sent, with its size and the limit named.
[[nodiscard]] std::string read_dataflow_file(const std::filesystem::path& path);

class CoordinatorClient {
  public:
    // Connects and completes the hello. An unreachable coordinator gives an error that says how
    // to start one; a refusal gives the coordinator's reason.
    [[nodiscard]] static Result<CoordinatorClient> connect(const ClientOptions& options);

    [[nodiscard]] Result<> send(const message::CliRequest& request);
    // The next message, decoded; std::nullopt when nothing arrived within `timeout`; an error when
    // the coordinator closed the connection or sent something this CLI cannot read.
    [[nodiscard]] Result<std::optional<message::CoordinatorToCli>> receive(
        std::chrono::milliseconds timeout);
    // Sends `request` and waits for the reply of type `Reply`, skipping other messages; an
    // ErrorMessage reply becomes an error with its text.
    template <typename Reply>
    [[nodiscard]] Result<Reply> request(const message::CliRequest& request,
                                        std::chrono::milliseconds timeout);

    // For poll() beside other descriptors (signals); call receive() first while has_pending():
    // decrypted bytes waiting inside TLS do not make the socket readable.
    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] bool has_pending() const { return stream_.has_pending(); }
    [[nodiscard]] const std::string& where() const { return where_; }

  private:
    CoordinatorClient() = default;
    [[nodiscard]] Result<> hello(const ClientOptions& options);
    [[nodiscard]] Result<std::optional<message::CoordinatorToCli>> receive_until(
        std::chrono::steady_clock::time_point deadline);

    sys::UniqueFd fd_;
    message::FramedStream stream_;
    std::string where_;                // "addr:port"
    std::string coordinator_version_;  // from its challenge
};

template <typename Reply>
Result<Reply> CoordinatorClient::request(const message::CliRequest& request,
                                         std::chrono::milliseconds timeout) {
    if (auto ok = send(request); !ok) {
        return fail(ok.error());
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto reply = receive_until(deadline);
        if (!reply) {
            return fail(reply.error());
        }
        if (!*reply) {
            return fail("no reply from the coordinator at {} within {} s", where_,
                        static_cast<double>(timeout.count()) / 1000.0);
        }
        if (auto* error = std::get_if<message::ErrorMessage>(&**reply)) {
            return fail("{}", error->message);
        }
        if (auto* wanted = std::get_if<Reply>(&**reply)) {
            return std::move(*wanted);
        }
        // Anything else (a log line of an earlier request) is not the reply.
    }
}

// The verbs' throwing forms (CLI edge).
[[nodiscard]] CoordinatorClient connect_or_throw(const ClientOptions& options);
template <typename T>
T or_throw(Result<T>&& result) {
    if (!result) {
        throw Exception(result.error());
    }
    return std::move(*result);
}
inline void or_throw(Result<>&& result) {
    if (!result) {
        throw Exception(result.error());
    }
}

// "5", "2.5", "500ms", "5s", "1m", "2h" -> milliseconds (a bare number is seconds, as in dora).
[[nodiscard]] Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// `<node> on daemon `<machine>`: <stream>    <line>` (`<node>: ...` for the default daemon),
// as `dora run` prints node output.
[[nodiscard]] std::string format_log_line(const std::string& node, const std::string& machine,
                                          const std::string& stream, const std::string& line);
// Prints format_log_line(...) on stdout at once (flushed).
void print_log_line(const std::string& node, const std::string& machine, std::string_view stream,
                    std::string_view line);

// Reports a dataflow's result like `dora run`: failed nodes with their exit status and last stderr
// lines (stderr), then throws dora::Exception unless every node succeeded. Ends with "finished
// successfully" or "finished with N message(s) dropped (...)"; with `strict` (or a strict
// dataflow's failed result) drops fail it.
void report_result(const message::DataflowResult& result, bool strict = false);

}  // namespace dora::cli
