// A small HTTP/1.1 server on the coordinator's event loop, for the web view (web_view.hpp). It
// serves GET and HEAD, one request per connection (every response says `Connection: close`), and
// server-sent event streams (text/event-stream) that stay open until either side closes them.
//
// Anyone who can reach the port is a stranger until the handler says otherwise, so the server
// bounds what a connection can make it hold: the request head must arrive within header_timeout
// and fit max_header_bytes (431 otherwise; a body is never read), at most max_connections are
// served at once (more get 503 and are closed), an event stream whose reader falls more than
// max_stream_backlog bytes behind is closed, and accept errors (EMFILE when out of descriptors)
// pause accepting for a second instead of spinning, logged at most once a second.
//
// Thread safety: the loop thread only (like the EventLoop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"

namespace dora::coordinator {

struct HttpRequest {
    std::string method;                          // GET or HEAD
    std::string path;                            // percent-decoded, starts with '/'
    std::map<std::string, std::string> query;    // percent-decoded names and values
    std::map<std::string, std::string> headers;  // lower-case names
    std::string peer;                            // "addr:port"
    bool loopback = false;                       // the peer is this machine
    [[nodiscard]] std::string header(const std::string& name) const;
    [[nodiscard]] std::optional<std::string> param(const std::string& name) const;
    // The value of cookie `name`, if the request carries it.
    [[nodiscard]] std::optional<std::string> cookie(const std::string& name) const;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra ones
};

// An open server-sent event stream. send() queues one event; false once the stream is closed
// (the reader left, or fell too far behind and was cut off).
class EventStream {
  public:
    virtual ~EventStream() = default;
    virtual bool send(std::string_view event, std::string_view data) = 0;
    [[nodiscard]] virtual bool closed() const = 0;
    virtual void close() = 0;
    // Runs once when the stream closes for any reason (not when close() is called by the owner).
    virtual void on_close(std::function<void()> callback) = 0;
};

// What a handler answers with: exactly one of respond() or stream(), once.
class HttpReply {
  public:
    virtual ~HttpReply() = default;
    virtual void respond(HttpResponse response) = 0;
    [[nodiscard]] virtual std::shared_ptr<EventStream> stream() = 0;
};

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    size_t max_connections = 64;
    std::chrono::milliseconds header_timeout{10000};
    size_t max_header_bytes = 16 * 1024;
    size_t max_stream_backlog = 4 << 20;
    std::chrono::milliseconds keepalive{15000};  // a comment line on idle event streams
    std::function<void(const std::string&)> log;
};

class HttpServer {
  public:
    using Handler = std::function<void(const HttpRequest&, HttpReply&)>;
    [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(EventLoop& loop,
                                                                   HttpServerOptions options,
                                                                   Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] size_t connections() const;

  private:
    struct Connection;
    struct State;
    HttpServer() = default;
    std::shared_ptr<State> state_;
    uint16_t port_ = 0;
};

// "%41b" -> "Ab"; '+' is a space in query strings (`plus_is_space`). Invalid escapes stay as is.
[[nodiscard]] std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace dora::coordinator
