#include "daemon/daemon.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/sys.hpp"
#include "daemon/node_command.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

namespace {

// The local address this machine uses to reach `host`: what other machines on that network can
// reach us at. (A UDP connect sends nothing; it only picks the route.)
std::string local_address_towards(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) {
        return "127.0.0.1";
    }
    std::string address = "127.0.0.1";
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        sockaddr_in local{};
        socklen_t len = sizeof local;
        char text[INET_ADDRSTRLEN] = {};
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
            ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text) != nullptr) {
            address = text;
        }
    }
    if (fd >= 0) ::close(fd);
    ::freeaddrinfo(res);
    return address;
}

void say(std::string_view text) {
    std::string line = fmt::format("[daemon] {}\n", text);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

Daemon::Daemon(EventLoop& loop, DaemonOptions options)
    : loop_(loop), options_(std::move(options)) {}

Result<std::unique_ptr<Daemon>> Daemon::create(EventLoop& loop, DaemonOptions options) {
    std::unique_ptr<Daemon> daemon(new Daemon(loop, std::move(options)));
    std::error_code ec;
    std::filesystem::create_directories(daemon->options_.work_dir, ec);
    if (ec) {
        return fail("cannot create the daemon's work directory {}: {}",
                    daemon->options_.work_dir.string(), ec.message());
    }
    // The local listen port (dynamic nodes connect here, as in dora): taking it also makes two
    // daemons configured with the same port on one machine fail loudly instead of mixing up.
    if (daemon->options_.local_listen_port != 0) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(daemon->options_.local_listen_port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd, 16) != 0) {
            auto err =
                sys::errno_error(fmt::format("listening on 127.0.0.1:{} (--local-listen-port)",
                                             daemon->options_.local_listen_port));
            if (fd >= 0) ::close(fd);
            return fail(
                "{}; another daemon on this machine probably uses that port: give each "
                "daemon its own --local-listen-port",
                err.message());
        }
        daemon->listen_fd_.reset(fd);
        Daemon* self = daemon.get();
        (void)loop.add_fd(fd, EPOLLIN, [self](uint32_t) {
            int c = ::accept4(self->listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
                const char* text =
                    "dora-cpp daemon: dynamic nodes are not supported yet; give the node a path "
                    "in the dataflow so the daemon spawns it\n";
                (void)!::write(c, text, std::strlen(text));
                ::close(c);
            }
        });
    }
    ZenohBridgeOptions zenoh;
    zenoh.machine_id = daemon->options_.machine_id;
    zenoh.config = daemon->options_.zenoh;
    zenoh.advertised_host =
        local_address_towards(daemon->options_.coordinator_addr, daemon->options_.coordinator_port);
    auto bridge = ZenohBridge::start(zenoh);
    if (!bridge) {
        return fail(bridge.error());
    }
    daemon->bridge_ = std::move(*bridge);
    CoordinatorLinkOptions link;
    link.host = daemon->options_.coordinator_addr;
    link.port = daemon->options_.coordinator_port;
    link.token = daemon->options_.token;
    link.dora_version = daemon->options_.dora_version;
    Daemon* self = daemon.get();
    std::string last_problem;
    daemon->link_ = std::make_unique<CoordinatorLink>(
        loop, link, [self](const nlohmann::json& m) { self->on_message(m); },
        [self] { self->on_connected(); },
        [last_problem](const std::string& why) mutable {
            if (why != last_problem) {  // do not repeat the same reason every retry
                say(why);
                last_problem = why;
            }
        });
    return daemon;
}

Daemon::~Daemon() {
    if (listen_fd_.valid()) loop_.remove_fd(listen_fd_.get());
}

void Daemon::start() { link_->start(); }

void Daemon::on_connected() {
    message::DaemonRegister reg;
    reg.machine_id = options_.machine_id;
    reg.zenoh_endpoints = bridge_->endpoints();
    for (const auto& [id, flow] : dataflows_) {
        reg.running_dataflows.push_back(id);
    }
    reg.running_dataflows.insert(reg.running_dataflows.end(), unreported_finishes_.begin(),
                                 unreported_finishes_.end());
    unreported_finishes_.clear();  // the queued finish messages follow the registration
    link_->send_now(message::make(reg));
    say(fmt::format("connected to the coordinator at {}:{} as machine `{}`",
                    options_.coordinator_addr, options_.coordinator_port, options_.machine_id));
}

void Daemon::on_message(const nlohmann::json& m) {
    const std::string type = m.value("type", "");
    if (type == message::PrepareDataflow::kType) {
        prepare(m);
    } else if (type == message::SpawnDataflow::kType) {
        spawn(m);
    } else if (type == message::StopDataflow::kType) {
        stop(m);
    } else if (type == message::ReadLogs::kType) {
        read_logs(m);
    } else if (type == message::BuildNodes::kType) {
        build(m);
    } else if (type == message::DestroyDaemon::kType) {
        say("the coordinator asked this daemon to shut down (dora destroy)");
        shut_down(kDefaultGraceDuration);
    } else if (type == message::Peers::kType) {
        if (auto peers = message::parse_as<message::Peers>(m)) {
            bridge_->set_peers(peers->peers);
        }
    } else if (type == message::CoordinatorHeartbeat::kType) {
        // Heartbeats only keep the link alive.
    } else if (type == message::ErrorMessage::kType) {
        say("the coordinator reports an error: " + m.value("message", std::string()));
    } else {
        say("ignoring an unknown message from the coordinator: " + type);
    }
}

bool Daemon::is_local(const Descriptor& descriptor, const NodeDescriptor& node) const {
    return descriptor.effective_deploy(node).machine.value_or("") == options_.machine_id;
}

Result<Descriptor> Daemon::load_descriptor(const std::string& dataflow_id, const std::string& yaml,
                                           const std::string& path,
                                           const std::string& cli_machine) {
    auto descriptor = parse_descriptor(yaml, path);
    if (!descriptor) {
        return fail(descriptor.error());
    }
    if (cli_machine != sys::machine_identity()) {
        // Started from another machine: the dataflow file's directory does not exist here.
        auto dir = options_.work_dir / dataflow_id;
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            return fail("machine `{}`: cannot create the dataflow's directory {}: {}",
                        options_.machine_id, dir.string(), ec.message());
        }
        descriptor->base_dir = dir;
    }
    std::string problems;
    for (const auto& node : descriptor->nodes) {
        if (!is_local(*descriptor, node)) continue;
        auto dir = node_working_dir(*descriptor, node);
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) {
            problems += fmt::format("\nmachine `{}`: node {}: working directory {} does not exist",
                                    options_.machine_id, node.id, dir.string());
            continue;
        }
        if ((node.kind == NodeKind::kExecutable || node.kind == NodeKind::kPython) && !node.build) {
            if (auto p = resolve_node_path(*descriptor, node); !p) {
                problems +=
                    fmt::format("\nmachine `{}`: {}", options_.machine_id, p.error().message());
            }
        }
    }
    if (!problems.empty()) {
        return fail("the dataflow cannot run here:{}", problems);
    }
    return descriptor;
}

void Daemon::prepare(const nlohmann::json& m) {
    auto request = message::parse_as<message::PrepareDataflow>(m);
    if (!request) {
        say(request.error().message());
        return;
    }
    message::DataflowPrepared reply;
    reply.dataflow_id = request->dataflow_id;
    if (dataflows_.contains(request->dataflow_id)) {
        reply.success = true;  // a repeated request after a reconnect
        link_->send(message::make(reply));
        return;
    }
    auto descriptor = load_descriptor(request->dataflow_id, request->descriptor_yaml,
                                      request->descriptor_path, request->cli_machine);
    if (!descriptor) {
        reply.error = descriptor.error().message();
        link_->send(message::make(reply));
        return;
    }
    auto flow = std::make_unique<Dataflow>();
    flow->id = request->dataflow_id;
    flow->name = request->name;
    flow->descriptor = std::move(*descriptor);
    LocalDataflowOptions options;
    options.dataflow_id = flow->id;
    options.machine_id = options_.machine_id;
    options.extra_env = options_.extra_node_env;
    const Descriptor* d = &flow->descriptor;
    options.is_local = [this, d](const NodeDescriptor& n) { return is_local(*d, n); };
    std::string id = flow->id;
    options.on_log = [this, id](const std::string& node, std::string_view stream,
                                std::string_view line) {
        message::DaemonLog log;
        log.log = {id, node, options_.machine_id, std::string(stream), std::string(line)};
        link_->send(message::make(log));
    };
    options.on_finished = [this, id] { loop_.post([this, id] { finished(id); }); };
    auto local = LocalDataflow::create(loop_, flow->descriptor, options);
    if (!local) {
        reply.error = fmt::format("machine `{}`: {}", options_.machine_id, local.error().message());
        link_->send(message::make(reply));
        return;
    }
    if (auto routed = bridge_->attach(**local); !routed) {
        reply.error = fmt::format("machine `{}`: routing to other machines: {}",
                                  options_.machine_id, routed.error().message());
        link_->send(message::make(reply));
        return;
    }
    flow->local = std::move(*local);
    dataflows_.emplace(id, std::move(flow));
    // Report "prepared" once the machines consuming our outputs have subscribed (their
    // declarations travel asynchronously), so that no early output is lost; give up waiting after
    // a few seconds (a peer may be unreachable: its data is then lost, as with any network).
    await_routing(id, std::chrono::steady_clock::now() + std::chrono::seconds(3));
}

void Daemon::await_routing(const std::string& id, std::chrono::steady_clock::time_point deadline) {
    auto it = dataflows_.find(id);
    if (it == dataflows_.end()) {
        return;
    }
    bool ready = bridge_->remote_subscribers_ready(*it->second->local);
    if (!ready && std::chrono::steady_clock::now() < deadline) {
        (void)loop_.add_timer(std::chrono::milliseconds(20), std::chrono::nanoseconds(0),
                              [this, id, deadline] { await_routing(id, deadline); });
        return;
    }
    if (!ready) {
        say(
            fmt::format("dataflow {}: no subscriber on another machine yet for some outputs; "
                        "starting anyway",
                        id));
    }
    message::DataflowPrepared reply;
    reply.dataflow_id = id;
    reply.success = true;
    link_->send(message::make(reply));
}

void Daemon::spawn(const nlohmann::json& m) {
    auto request = message::parse_as<message::SpawnDataflow>(m);
    if (!request) return;
    auto it = dataflows_.find(request->dataflow_id);
    message::DataflowSpawned reply;
    reply.dataflow_id = request->dataflow_id;
    if (it == dataflows_.end()) {
        reply.error = fmt::format("machine `{}` has no prepared dataflow {}", options_.machine_id,
                                  request->dataflow_id);
        link_->send(message::make(reply));
        return;
    }
    it->second->spawned = true;
    auto ok = it->second->local->start();
    reply.success = static_cast<bool>(ok);
    if (!ok) {
        reply.error = fmt::format("machine `{}`: {}", options_.machine_id, ok.error().message());
    }
    link_->send(message::make(reply));
    say(fmt::format("dataflow {}: {} node(s) started", request->dataflow_id,
                    it->second->local->plan().nodes.size()));
}

void Daemon::stop(const nlohmann::json& m) {
    auto request = message::parse_as<message::StopDataflow>(m);
    if (!request) return;
    auto it = dataflows_.find(request->dataflow_id);
    if (it == dataflows_.end()) {
        return;
    }
    if (!it->second->spawned) {
        // Prepared but never spawned (preparing failed elsewhere): nothing runs; drop it.
        bridge_->detach(request->dataflow_id);
        dataflows_.erase(it);
        maybe_exit();
        return;
    }
    it->second->local->stop(std::chrono::milliseconds(request->grace_ms));
}

void Daemon::finished(const std::string& dataflow_id) {
    auto it = dataflows_.find(dataflow_id);
    if (it == dataflows_.end() || it->second->finished) return;
    it->second->finished = true;
    message::DataflowFinishedOnMachine done;
    done.dataflow_id = dataflow_id;
    for (const auto& r : it->second->local->results()) {
        done.results.push_back(message::NodeResultInfo{r.node_id, options_.machine_id, r.success,
                                                       r.status, r.killed_after_grace,
                                                       r.stderr_tail});
    }
    if (!link_->connected()) {
        unreported_finishes_.push_back(dataflow_id);
    }
    link_->send(message::make(done));
    say(fmt::format("dataflow {} finished on this machine", dataflow_id));
    // Keep the descriptor for `dora logs`; free the shared memory now.
    bridge_->detach(dataflow_id);
    it->second->local.reset();
    archived_.emplace(dataflow_id, std::move(it->second));
    dataflows_.erase(it);
    maybe_exit();
}

void Daemon::read_logs(const nlohmann::json& m) {
    auto request = message::parse_as<message::ReadLogs>(m);
    if (!request) return;
    message::DaemonLogsReply reply;
    reply.request_id = request->request_id;
    const Dataflow* flow = nullptr;
    if (auto it = dataflows_.find(request->dataflow_id); it != dataflows_.end()) {
        flow = it->second.get();
    } else if (auto a = archived_.find(request->dataflow_id); a != archived_.end()) {
        flow = a->second.get();
    }
    const NodeDescriptor* node = flow ? flow->descriptor.find_node(request->node_id) : nullptr;
    if (node == nullptr) {
        reply.error = fmt::format("machine `{}` has no node {} of dataflow {}", options_.machine_id,
                                  request->node_id, request->dataflow_id);
    } else {
        auto file = node_working_dir(flow->descriptor, *node) / "out" / request->dataflow_id /
                    fmt::format("log_{}.txt", request->node_id);
        std::ifstream in(file);
        if (!in) {
            reply.error =
                fmt::format("machine `{}`: no log file {}", options_.machine_id, file.string());
        } else {
            std::stringstream ss;
            ss << in.rdbuf();
            reply.content = ss.str();
        }
    }
    link_->send(message::make(reply));
}

void Daemon::build(const nlohmann::json& m) {
    auto request = message::parse_as<message::BuildNodes>(m);
    if (!request) return;
    message::DaemonBuildResult result;
    result.request_id = request->request_id;
    auto descriptor = parse_descriptor(request->descriptor_yaml, request->descriptor_path);
    if (!descriptor) {
        result.message = descriptor.error().message();
        link_->send(message::make(result));
        return;
    }
    if (request->cli_machine != sys::machine_identity()) {
        descriptor->base_dir = options_.work_dir / "build";
        std::error_code ec;
        std::filesystem::create_directories(descriptor->base_dir, ec);
    }
    // Builds run one after the other, synchronously: a daemon has nothing else to do while the
    // user waits for `dora build`, and the output order stays readable.
    result.success = true;
    for (const auto& node : descriptor->nodes) {
        if (!node.build || !is_local(*descriptor, node)) continue;
        auto dir = node_working_dir(*descriptor, node);
        std::string command = fmt::format("cd '{}' && {} 2>&1", dir.string(), *node.build);
        FILE* pipe = ::popen(command.c_str(), "r");
        if (pipe == nullptr) {
            result.success = false;
            result.message = fmt::format("node {}: cannot run its build command", node.id);
            break;
        }
        char line[4096];
        while (std::fgets(line, sizeof line, pipe) != nullptr) {
            std::string text(line);
            if (!text.empty() && text.back() == '\n') text.pop_back();
            link_->send(
                message::make(message::DaemonBuildOutput{request->request_id, node.id, text}));
        }
        int status = ::pclose(pipe);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            result.success = false;
            // The coordinator puts the machine in front.
            result.message = fmt::format("the build of node {} ({}) {}", node.id, *node.build,
                                         describe_wait_status(status));
            break;
        }
    }
    link_->send(message::make(result));
}

void Daemon::shut_down(std::chrono::nanoseconds grace) {
    shutting_down_ = true;
    for (auto it = dataflows_.begin(); it != dataflows_.end();) {
        if (!it->second->spawned) {
            bridge_->detach(it->first);  // prepared only: nothing to stop
            it = dataflows_.erase(it);
        } else {
            it->second->local->stop(grace);
            ++it;
        }
    }
    maybe_exit();
}

void Daemon::maybe_exit() {
    if (shutting_down_ && dataflows_.empty()) {
        link_->flush(std::chrono::milliseconds(1000));
        loop_.stop();
    }
}

}  // namespace dora::daemon
