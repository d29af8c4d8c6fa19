// The live web view (`dora coordinator --web ADDR`, off by default): one page per dataflow with
// its graph by machine, live edge rates, each node's status and resources, the latest value of
// any output the user clicks, and the tail of its logs, pushed as server-sent events. The page
// and its scripts are compiled in (web/assets.hpp); the data comes from the coordinator
// (WebSource) and, for values, from a Zenoh session of the coordinator's own that links to the
// daemons only while some page watches a value (zero-cost watching: the owning daemon publishes
// an output only while it is watched).
//
// Routes (GET/HEAD): /, /dataflow/<uuid> (the page), /assets/<file>, /api/dataflows,
// /api/dataflow/<uuid> (graph and nodes), /api/dataflow/<uuid>/events (state once a second, log
// lines as they come), /api/dataflow/<uuid>/watch?output=<node>/<output> (its values, at most
// ten a second: the newest wins).
//
// Access follows the control plane's rules. With a cluster token, every request must carry it:
// open `/?token=<token>` once (the answer sets an HttpOnly, SameSite=Strict cookie and redirects
// to the same page without it) or send `Authorization: Bearer <token>`; compared in constant
// time. Without a token only this machine's browsers are served (403 for others, saying how to
// set a token), and only under a Host of localhost or an IP address, so a web page elsewhere
// cannot reach the view through DNS rebinding.
//
// Thread safety: the coordinator's loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/http_server.hpp"
#include "core/event_loop.hpp"
#include "message/common.hpp"
#include "zenoh/session.hpp"

namespace dora::coordinator {

// What the web view shows of the coordinator.
struct WebDataflow {
    message::DataflowInfo info;
    std::string yaml;  // "" while a recovered dataflow has not been described yet
    std::string path;
};

// Per node, what the daemons measured (filled in by WebSource::node_stats, when it can).
struct WebNodeStats {
    std::string status;  // running | restarting | exited (N) | ...; "" = unknown
    std::optional<int64_t> pid;
    std::optional<double> cpu_percent;
    std::optional<uint64_t> rss_bytes;
    std::optional<uint64_t> restarts;
    std::optional<uint64_t> dropped;
};
// Per edge ("node/output->node/input"), messages through it so far.
struct WebStats {
    std::map<std::string, WebNodeStats> nodes;
    std::map<std::string, uint64_t> edge_messages;
};

class WebSource {
  public:
    virtual ~WebSource() = default;
    // Newest first.
    [[nodiscard]] virtual std::vector<WebDataflow> web_dataflows() const = 0;
    [[nodiscard]] virtual std::optional<WebDataflow> web_dataflow(const std::string& id) const = 0;
    [[nodiscard]] virtual std::vector<message::DaemonInfo> web_daemons() const = 0;
    // Asks the daemons for the stats of a dataflow's nodes; `done` runs once on the loop thread
    // (with what arrived: possibly nothing).
    virtual void web_stats(const std::string& dataflow_id, std::function<void(WebStats)> done) = 0;
};

// A certificate of the cluster CA for the view's Zenoh session, and when to ask for a new one.
struct WebViewTls {
    zenoh::TlsKeys keys;
    int64_t renew_at = 0;  // Unix seconds
};

struct WebViewOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::optional<std::string> token;
    std::function<void(const std::string&)> log;
    // With a cluster token the daemons' Zenoh endpoints are tls/ with mutual TLS: this issues
    // the view a certificate (the coordinator's own CA). Unset: no certificate to present.
    std::function<Result<WebViewTls>()> cluster_tls;
};

class WebView {
  public:
    [[nodiscard]] static Result<std::unique_ptr<WebView>> start(EventLoop& loop,
                                                                WebViewOptions options,
                                                                WebSource& source);
    ~WebView();
    WebView(const WebView&) = delete;
    WebView& operator=(const WebView&) = delete;

    [[nodiscard]] uint16_t port() const { return server_->port(); }
    // A node's line (from DaemonLog): kept for the log tail and pushed to open pages.
    void on_log(const message::LogLine& line);
    // Value streams open now, and whether the Zenoh session to the daemons is open.
    [[nodiscard]] size_t value_watches() const { return watches_.size(); }
    [[nodiscard]] bool watching() const { return session_ != nullptr; }

  private:
    struct PageStream {
        std::string dataflow_id;
        std::shared_ptr<EventStream> stream;
        // Edge counts of the last few seconds, oldest first: rates over a window (a sensor that
        // sends every 1.5 s is not shown alternating between 0 and 1 message per second).
        std::deque<std::pair<SteadyClock::time_point, std::map<std::string, uint64_t>>> history;
        bool asking = false;
    };
    struct ValueWatch {
        std::shared_ptr<EventStream> stream;
        zenoh::Subscription subscription;
        std::optional<std::string> pending;  // the newest value not sent yet
    };

    WebView(EventLoop& loop, WebViewOptions options, WebSource& source)
        : loop_(loop), options_(std::move(options)), source_(source) {}
    void handle(const HttpRequest& request, HttpReply& reply);
    // nullopt when allowed; else the refusal.
    [[nodiscard]] std::optional<HttpResponse> refuse(const HttpRequest& request) const;
    [[nodiscard]] nlohmann::json dataflow_json(const WebDataflow& d) const;
    [[nodiscard]] nlohmann::json nodes_json(const WebDataflow& d, const WebStats* stats) const;
    void open_events(const WebDataflow& d, HttpReply& reply);
    void open_watch(const WebDataflow& d, const std::string& output, HttpReply& reply);
    void tick();
    void send_state(uint64_t page, WebStats stats);
    [[nodiscard]] Result<> ensure_session();
    // With tls/ endpoints to dial: a certificate of the cluster for the session, renewed when due.
    [[nodiscard]] Result<> ensure_certificate(const std::vector<zenoh::Endpoint>& endpoints);
    void drop_closed();

    EventLoop& loop_;
    WebViewOptions options_;
    WebSource& source_;
    std::unique_ptr<HttpServer> server_;
    std::map<uint64_t, PageStream> pages_;
    std::map<uint64_t, ValueWatch> watches_;
    uint64_t next_id_ = 1;
    std::map<std::string, std::deque<message::LogLine>> log_tail_;  // by dataflow id
    std::unique_ptr<zenoh::Session> session_;
    int64_t certificate_renew_at_ = 0;  // 0: the session holds no certificate of the cluster
    Timer ticker_;                      // once a second while pages are open
    Timer flusher_;                     // values, ten times a second while watches are open
};

}  // namespace dora::coordinator
