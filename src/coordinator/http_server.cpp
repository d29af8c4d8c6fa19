#include "coordinator/http_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/acceptor.hpp"
#include "core/net.hpp"

namespace dora::coordinator {

namespace {

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 302:
            return "Found";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

// After an answer: how long and how much a closing connection is drained.
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr size_t kMaxDrain = 256 * 1024;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        out[percent_decode(pair.substr(0, eq), true)] =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    }
    return out;
}

// Parses a request head (through the blank line). nullopt + status when it is not one we serve.
struct Parsed {
    std::optional<HttpRequest> request;
    int status = 400;
    std::string why;
};

Parsed parse_head(std::string_view head) {
    Parsed out;
    const size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
        out.why = "not an HTTP/1.x request line";
        return out;
    }
    HttpRequest request;
    request.method = std::string(line.substr(0, sp1));
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (target.empty() || target.front() != '/') {
        out.why = "the request target is not a path";
        return out;
    }
    const size_t q = target.find('?');
    request.path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
        request.query = parse_query(target.substr(q + 1));
    }
    std::string_view rest = head.substr(line_end + 2);
    while (!rest.empty()) {
        const size_t end = rest.find("\r\n");
        std::string_view header = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
        if (header.empty()) break;
        const size_t colon = header.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            out.why = "a header line without a name";
            return out;
        }
        request.headers[lower(trim(header.substr(0, colon)))] =
            std::string(trim(header.substr(colon + 1)));
    }
    if (request.method != "GET" && request.method != "HEAD") {
        out.status = 405;
        out.why = "only GET and HEAD are served here";
        return out;
    }
    out.request = std::move(request);
    return out;
}

std::string head_of(const HttpResponse& response, size_t length) {
    std::string out =
        fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", response.status,
                    reason_phrase(response.status), response.content_type, length);
    out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
    out += "Connection: close\r\n";
    for (const auto& [name, value] : response.headers) {
        out += name + ": " + value + "\r\n";
    }
    return out + "\r\n";
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
            hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else if (plus_is_space && text[i] == '+') {
            out += ' ';
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string HttpRequest::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> HttpRequest::param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string> HttpRequest::cookie(const std::string& name) const {
    auto found = headers.find("cookie");
    std::string_view all = found == headers.end() ? std::string_view() : found->second;
    while (!all.empty()) {
        const size_t semi = all.find(';');
        std::string_view pair = trim(all.substr(0, semi));
        all = semi == std::string_view::npos ? std::string_view() : all.substr(semi + 1);
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            return std::string(pair.substr(eq + 1));
        }
    }
    return std::nullopt;
}

// ---- connections -------------------------------------------------------------------------------

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
    EventLoop* loop = nullptr;
    HttpServerOptions options;
    Handler handler;
    std::unique_ptr<Acceptor> listener;
    uint64_t next_id = 1;
    std::map<uint64_t, std::shared_ptr<Connection>> connections;

    void log(const std::string& line) const {
        if (options.log) options.log(line);
    }
    void on_accept(net::Accepted accepted);
    void drop(uint64_t id);
};

struct HttpServer::Connection : EventStream, HttpReply {
    std::weak_ptr<State> state;
    uint64_t id = 0;
    FdWatch watch;
    std::string in;
    std::string out;
    std::string peer;
    bool loopback = false;
    bool answered = false;  // a response or a stream was started
    bool streaming = false;
    bool head_only = false;
    bool finishing = false;  // close once `out` is written
    bool draining = false;   // answered and half-closed: reading what the client still sends
    size_t drained = 0;
    bool is_closed = false;
    Timer deadline;
    Timer keepalive;
    std::function<void()> closed_callback;

    void on_events(uint32_t events);
    void on_readable();
    void flush();
    void update_events();
    void finish() {
        finishing = true;
        flush();
    }
    void shut(bool notify);

    // HttpReply
    void respond(HttpResponse response) override;
    std::shared_ptr<EventStream> stream() override;
    // EventStream
    bool send(std::string_view event, std::string_view data) override;
    [[nodiscard]] bool closed() const override { return is_closed; }
    void close() override { shut(false); }
    void on_close(std::function<void()> callback) override {
        closed_callback = std::move(callback);
    }
};

void HttpServer::State::on_accept(net::Accepted accepted) {
    auto c = std::make_shared<Connection>();
    c->id = next_id++;
    c->peer = accepted.peer.to_string();
    auto local = net::local_address(accepted.fd.get());
    c->loopback = accepted.peer.is_loopback() || (local && local->host() == accepted.peer.host());
    const bool full = connections.size() >= options.max_connections;
    Connection* raw = c.get();
    auto watched = loop->watch(std::move(accepted.fd), EPOLLIN | EPOLLRDHUP,
                               [raw](uint32_t events) { raw->on_events(events); });
    if (!watched) {
        log(fmt::format("web view: cannot serve {}: {}", c->peer, watched.error().message()));
        return;
    }
    c->watch = std::move(*watched);
    c->state = weak_from_this();
    connections[c->id] = c;
    if (full) {
        c->respond({503,
                    "text/plain; charset=utf-8",
                    "too many connections to this web view; try again later\n",
                    {}});
        return;
    }
    const uint64_t id = c->id;
    c->deadline = loop->add_timer(options.header_timeout, [this, id] {
        auto it = connections.find(id);
        if (it != connections.end() && !it->second->answered) {
            it->second->respond(
                {408, "text/plain; charset=utf-8", "the request did not arrive in time\n", {}});
        }
    });
}

void HttpServer::State::drop(uint64_t id) { connections.erase(id); }

void HttpServer::Connection::on_events(uint32_t events) {
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        shut(true);
        return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP)) != 0) {
        on_readable();
        if (is_closed) return;
    }
    if ((events & EPOLLOUT) != 0) {
        flush();
    }
}

void HttpServer::Connection::on_readable() {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(watch.fd(), buffer, sizeof(buffer));
        if (n > 0) {
            if (answered) {
                // Nothing more is read from a client once answered; a closing one is drained (a
                // bounded amount) so that closing does not reset the answer it has not read.
                drained += static_cast<size_t>(n);
                if (draining && drained > kMaxDrain) {
                    shut(true);
                    return;
                }
                continue;
            }
            in.append(buffer, static_cast<size_t>(n));
            auto state_ptr = state.lock();
            if (!state_ptr) return;
            const size_t end = in.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (in.size() > state_ptr->options.max_header_bytes) {
                    respond(
                        {431, "text/plain; charset=utf-8", "the request head is too large\n", {}});
                    return;
                }
                continue;
            }
            if (end + 4 > state_ptr->options.max_header_bytes) {
                respond({431, "text/plain; charset=utf-8", "the request head is too large\n", {}});
                return;
            }
            Parsed parsed = parse_head(std::string_view(in).substr(0, end + 4));
            if (!parsed.request) {
                respond({parsed.status, "text/plain; charset=utf-8", parsed.why + "\n", {}});
                return;
            }
            parsed.request->peer = peer;
            parsed.request->loopback = loopback;
            head_only = parsed.request->method == "HEAD";
            deadline.cancel();
            auto keep = state_ptr->connections[id];  // the handler may close us
            state_ptr->handler(*parsed.request, *this);
            if (!answered) {
                respond({500, "text/plain; charset=utf-8", "no answer\n", {}});
            }
            in.clear();
            return;
        }
        if (n == 0) {
            shut(true);  // the client closed its side
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        shut(true);
        return;
    }
}

void HttpServer::Connection::respond(HttpResponse response) {
    if (answered || is_closed) return;
    answered = true;
    out += head_of(response, response.body.size());
    if (!head_only) out += response.body;
    finish();
}

std::shared_ptr<EventStream> HttpServer::Connection::stream() {
    auto state_ptr = state.lock();
    if (answered || is_closed || !state_ptr) return nullptr;
    answered = true;
    streaming = true;
    out +=
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
    const uint64_t my_id = id;
    std::weak_ptr<State> weak = state_ptr;
    keepalive = state_ptr->loop->add_periodic(state_ptr->options.keepalive, [weak, my_id] {
        auto s = weak.lock();
        if (!s) return;
        auto it = s->connections.find(my_id);
        if (it != s->connections.end()) {
            it->second->out += ": keepalive\n\n";
            it->second->flush();
        }
    });
    flush();
    return state_ptr->connections[id];
}

bool HttpServer::Connection::send(std::string_view event, std::string_view data) {
    if (is_closed || !streaming) return false;
    auto state_ptr = state.lock();
    if (!state_ptr) return false;
    if (out.size() > state_ptr->options.max_stream_backlog) {
        state_ptr->log(
            fmt::format("web view: closing the event stream of {}: it is more than {} "
                        "bytes behind",
                        peer, state_ptr->options.max_stream_backlog));
        shut(true);
        return false;
    }
    out += "event: ";
    out += event;
    out += '\n';
    size_t start = 0;
    while (start <= data.size()) {
        const size_t nl = data.find('\n', start);
        out += "data: ";
        out +=
            data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        out += '\n';
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out += '\n';
    flush();
    return !is_closed;
}

void HttpServer::Connection::flush() {
    while (!out.empty() && !is_closed) {
        const ssize_t n = ::send(watch.fd(), out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        shut(true);
        return;
    }
    if (is_closed) return;
    if (out.empty() && finishing && !draining) {
        // Half-close, then read until the client closes (or a short while): closing a socket
        // with unread input sends a reset, which can destroy the answer before it is read.
        ::shutdown(watch.fd(), SHUT_WR);
        draining = true;
        auto state_ptr = state.lock();
        if (!state_ptr) {
            shut(true);
            return;
        }
        const uint64_t my_id = id;
        std::weak_ptr<State> weak = state_ptr;
        deadline = state_ptr->loop->add_timer(kDrainTime, [weak, my_id] {
            if (auto st = weak.lock()) {
                if (auto it = st->connections.find(my_id); it != st->connections.end()) {
                    it->second->shut(true);
                }
            }
        });
        (void)watch.set_events(EPOLLIN | EPOLLRDHUP);
        return;
    }
    if (draining) return;
    update_events();
}

void HttpServer::Connection::update_events() {
    (void)watch.set_events(EPOLLIN | EPOLLRDHUP | (out.empty() ? 0U : EPOLLOUT));
}

void HttpServer::Connection::shut(bool notify) {
    if (is_closed) return;
    is_closed = true;
    deadline.cancel();
    keepalive.cancel();
    watch.reset();
    auto callback = std::move(closed_callback);
    auto state_ptr = state.lock();
    if (state_ptr) {
        // Erased at the end of the iteration: we may be inside one of our own callbacks.
        const uint64_t my_id = id;
        std::weak_ptr<State> weak = state_ptr;
        state_ptr->loop->post([weak, my_id] {
            if (auto s = weak.lock()) s->drop(my_id);
        });
    }
    if (notify && callback) callback();
}

// ---- server ------------------------------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::start(EventLoop& loop, HttpServerOptions options,
                                                      Handler handler) {
    auto listener = net::listen_tcp(options.host, options.port);
    if (!listener) {
        return fail("cannot listen for the web view on {}: {}",
                    net::join_host_port(options.host, options.port), listener.error().message());
    }
    std::unique_ptr<HttpServer> server(new HttpServer());
    server->port_ = listener->port();
    auto state = std::make_shared<State>();
    state->loop = &loop;
    state->options = std::move(options);
    state->handler = std::move(handler);
    State* raw = state.get();
    AcceptorOptions acceptor;
    acceptor.what = fmt::format("the web view ({})", listener->address.to_string());
    acceptor.log = [raw](const std::string& line) { raw->log(line); };
    auto watched = Acceptor::start(loop, std::move(listener->fd), std::move(acceptor),
                                   [raw](net::Accepted a) { raw->on_accept(std::move(a)); });
    if (!watched) {
        return fail(watched.error());
    }
    state->listener = std::move(*watched);
    server->state_ = std::move(state);
    return server;
}

HttpServer::~HttpServer() {
    if (!state_) return;
    auto connections = std::move(state_->connections);
    for (auto& [id, c] : connections) {
        c->closed_callback = nullptr;
        c->shut(false);
    }
    state_->listener.reset();
}

size_t HttpServer::connections() const { return state_ ? state_->connections.size() : 0; }

}  // namespace dora::coordinator
