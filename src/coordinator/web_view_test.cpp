// The web view's HTTP server and access rules, over real loopback sockets: answers, refusals of
// what a stranger may send (other methods, a huge head, a head that never ends, too many
// connections), event streams that end with their reader, and the token rules of WebView.
#include "coordinator/web_view.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/net.hpp"

namespace dora::coordinator {
namespace {

using namespace std::chrono_literals;

// The loop runs on its own thread; the test talks to it with blocking sockets.
class LoopThread {
  public:
    LoopThread() {
        EventLoop::Options options;
        options.handle_signals = false;
        loop_ = std::move(*EventLoop::create(options));
    }
    ~LoopThread() { stop(); }
    EventLoop& loop() { return *loop_; }
    void start() {
        thread_ = std::thread([this] { loop_->run(); });
    }
    void stop() {
        if (thread_.joinable()) {
            loop_->stop();
            thread_.join();
        }
    }

  private:
    std::unique_ptr<EventLoop> loop_;
    std::thread thread_;
};

sys::UniqueFd connect_to(uint16_t port) {
    auto fd = net::connect_tcp("127.0.0.1", port, 2s);
    EXPECT_TRUE(fd) << fd.error().message();
    // Blocking, with a receive timeout: the test reads until the server closes.
    const int flags = ::fcntl(fd->get(), F_GETFL);
    ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{5, 0};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return std::move(*fd);
}

std::string read_all(int fd) {
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

std::string http_exchange(uint16_t port, const std::string& raw) {
    auto fd = connect_to(port);
    EXPECT_EQ(::send(fd.get(), raw.data(), raw.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(raw.size()));
    return read_all(fd.get());
}

std::string get(uint16_t port, const std::string& path, const std::string& headers = "") {
    return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                   std::to_string(port) + "\r\n" + headers + "\r\n");
}

int status_of(const std::string& response) {
    return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

TEST(HttpServer, AnswersGetAndHeadAndRefusesWhatItDoesNotServe) {
    LoopThread t;
    HttpServerOptions options;
    options.header_timeout = 300ms;
    auto server = HttpServer::start(t.loop(), options, [](const HttpRequest& r, HttpReply& reply) {
        reply.respond(
            {200, "text/plain", "path " + r.path + " q=" + r.param("q").value_or("-"), {}});
    });
    ASSERT_TRUE(server) << server.error().message();
    const uint16_t port = (*server)->port();
    t.start();

    std::string ok = get(port, "/a%20b?q=x+y");
    EXPECT_EQ(status_of(ok), 200) << ok;
    EXPECT_NE(ok.find("\r\n\r\npath /a b q=x y"), std::string::npos) << ok;
    std::string head = http_exchange(port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(status_of(head), 200);
    EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "") << "HEAD has no body";
    EXPECT_EQ(status_of(http_exchange(port, "POST / HTTP/1.1\r\nHost: x\r\n\r\n")), 405);
    EXPECT_EQ(status_of(http_exchange(port, "hello\r\n\r\n")), 400);
    EXPECT_EQ(status_of(http_exchange(
                  port, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")),
              431);
    // A head that never ends is answered 408 and closed after header_timeout.
    auto slow = connect_to(port);
    ASSERT_EQ(::send(slow.get(), "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL), 16);
    EXPECT_EQ(status_of(read_all(slow.get())), 408);
    t.stop();
}

TEST(HttpServer, RefusesConnectionsBeyondTheLimitAndEndsStreamsWithTheirReader) {
    LoopThread t;
    HttpServerOptions options;
    options.max_connections = 1;
    std::shared_ptr<EventStream> stream;
    std::atomic<bool> closed{false};
    auto server = HttpServer::start(t.loop(), options, [&](const HttpRequest&, HttpReply& reply) {
        stream = reply.stream();
        stream->on_close([&] { closed = true; });
        stream->send("hello", "line 1\nline 2");
    });
    ASSERT_TRUE(server);
    const uint16_t port = (*server)->port();
    t.start();

    auto reader = connect_to(port);
    const std::string request = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(reader.get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string got;
    char buffer[1024];
    while (got.find("data: line 2\n\n") == std::string::npos) {
        const ssize_t n = ::read(reader.get(), buffer, sizeof(buffer));
        ASSERT_GT(n, 0) << got;
        got.append(buffer, static_cast<size_t>(n));
    }
    EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_NE(got.find("event: hello\ndata: line 1\ndata: line 2\n\n"), std::string::npos) << got;
    // The only connection allowed is taken.
    EXPECT_EQ(status_of(get(port, "/")), 503);
    reader.reset();  // the reader leaves
    for (int i = 0; i < 200 && !closed; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(closed) << "the stream did not see its reader leave";
    t.stop();
    EXPECT_TRUE(stream->closed());
    EXPECT_FALSE(stream->send("late", "x"));
}

class FakeSource : public WebSource {
  public:
    std::vector<WebDataflow> web_dataflows() const override {
        WebDataflow d;
        d.info.id = "01a22dc3-f44c-7daf-99a0-85399961e311";
        d.info.name = "sensors";
        d.info.status = "running";
        d.info.nodes_per_machine = {{"edge", {"sensor"}}, {"cloud", {"sink"}}};
        d.yaml = R"(
nodes:
  - {id: sensor, path: s.py, inputs: {tick: dora/timer/millis/100}, outputs: [reading]}
  - {id: sink, path: k.py, inputs: {data: sensor/reading}}
)";
        d.path = "flow.yml";
        return {d};
    }
    std::optional<WebDataflow> web_dataflow(const std::string& id) const override {
        auto all = web_dataflows();
        if (all.front().info.id == id) return all.front();
        return std::nullopt;
    }
    std::vector<message::DaemonInfo> web_daemons() const override { return {}; }
    void web_stats(const std::string&, std::function<void(WebStats)> done) override {
        done(WebStats{});
    }
};

TEST(WebView, WithoutATokenServesThisMachineUnderPlainHostNamesOnly) {
    LoopThread t;
    FakeSource source;
    auto view = WebView::start(t.loop(), WebViewOptions{}, source);
    ASSERT_TRUE(view) << view.error().message();
    const uint16_t port = (*view)->port();
    t.start();

    EXPECT_EQ(status_of(get(port, "/")), 200);
    EXPECT_EQ(status_of(http_exchange(port, "GET / HTTP/1.1\r\nHost: localhost:1\r\n\r\n")), 200);
    EXPECT_EQ(status_of(http_exchange(port, "GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n")),
              403)
        << "a DNS-rebinding page";
    EXPECT_EQ(status_of(http_exchange(port, "GET / HTTP/1.1\r\n\r\n")), 403) << "no Host at all";
    std::string list = get(port, "/api/dataflows");
    EXPECT_NE(list.find("\"name\":\"sensors\""), std::string::npos) << list;
    std::string one = get(port, "/api/dataflow/01a22dc3-f44c-7daf-99a0-85399961e311");
    EXPECT_NE(one.find("\"from\":\"sensor/reading\""), std::string::npos) << one;
    EXPECT_NE(one.find("\"id\":\"edge\""), std::string::npos) << "placed by the coordinator";
    EXPECT_EQ(status_of(get(port, "/api/dataflow/nope")), 404);
    EXPECT_EQ(status_of(get(port, "/assets/app.js")), 200);
    EXPECT_EQ(status_of(get(port, "/assets/../../etc/passwd")), 404);
    EXPECT_EQ(status_of(get(port, "/api/dataflow/01a22dc3-f44c-7daf-99a0-85399961e311/watch")), 400)
        << "which output";
    t.stop();
}

TEST(WebView, WithATokenEveryRequestProvesIt) {
    LoopThread t;
    FakeSource source;
    WebViewOptions options;
    options.token = std::string(64, 'c');
    auto view = WebView::start(t.loop(), options, source);
    ASSERT_TRUE(view);
    const uint16_t port = (*view)->port();
    t.start();

    EXPECT_EQ(status_of(get(port, "/api/dataflows")), 401);
    EXPECT_EQ(status_of(get(port, "/?token=" + std::string(64, 'd'))), 401);
    EXPECT_EQ(status_of(get(port, "/?token=short")), 401);
    std::string login = get(port, "/dataflow/x?token=" + *options.token);
    EXPECT_EQ(status_of(login), 302) << login;
    EXPECT_NE(login.find("Location: /dataflow/x\r\n"), std::string::npos) << login;
    EXPECT_NE(login.find("Set-Cookie: dora_token=" + *options.token +
                         "; Path=/; HttpOnly; SameSite=Strict"),
              std::string::npos)
        << login;
    EXPECT_EQ(status_of(get(port, "/api/dataflows",
                            "Cookie: a=b; dora_token=" + *options.token + "\r\n")),
              200);
    EXPECT_EQ(status_of(get(port, "/api/dataflows", "Cookie: dora_token=wrong\r\n")), 401);
    EXPECT_EQ(
        status_of(get(port, "/api/dataflows", "Authorization: Bearer " + *options.token + "\r\n")),
        200);
    // With a token, any Host name is fine (the token is the proof).
    EXPECT_EQ(status_of(http_exchange(port,
                                      "GET /api/dataflows HTTP/1.1\r\nHost: dora.example\r\n"
                                      "Authorization: Bearer " +
                                          *options.token + "\r\n\r\n")),
              200);
    t.stop();
}

}  // namespace
}  // namespace dora::coordinator
