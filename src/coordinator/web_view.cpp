#include "coordinator/web_view.hpp"

#include <algorithm>

#include "core/descriptor.hpp"
#include "message/arrow_json.hpp"
#include "message/data_keys.hpp"
#include "message/metadata.hpp"
#include "pki/certificate.hpp"
#include "web/assets.hpp"
#include "web/graph_json.hpp"

namespace dora::coordinator {

namespace {

using nlohmann::json;

constexpr size_t kLogTailLines = 200;
constexpr size_t kMaxLogTails = 64;  // dataflows whose tail is kept
constexpr auto kStateInterval = std::chrono::seconds(1);
constexpr auto kValueInterval = std::chrono::milliseconds(100);
constexpr auto kRateWindow = std::chrono::seconds(5);  // edge rates: messages over this long
constexpr const char* kCookie = "dora_token";

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", std::move(body) + "\n", {}};
}
HttpResponse json_response(const json& j) {
    return {200, "application/json; charset=utf-8", dump(j), {}};
}

bool same_secret(std::string_view a, std::string_view b) {
    // Constant time in the contents (the length of a cluster token is no secret).
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

// A Host header naming an address literal or localhost (with or without a port).
bool plain_host(std::string host) {
    if (host.empty()) return false;
    if (host.front() == '[') {
        return host.find(']') != std::string::npos;  // an IPv6 literal
    }
    if (auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
    if (host == "localhost") return true;
    return !host.empty() && std::all_of(host.begin(), host.end(),
                                        [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string machine_of(const message::DataflowInfo& info, const std::string& node) {
    for (const auto& [machine, nodes] : info.nodes_per_machine) {
        if (std::find(nodes.begin(), nodes.end(), node) != nodes.end()) return machine;
    }
    return "";
}

// What a value stream sends for one sample.
std::string value_event(const zenoh::Put& put) {
    json j;
    if (put.attachment && message::looks_like_end_of_stream(*put.attachment)) {
        return dump({{"end_of_stream", true}, {"type", "end of stream"}, {"value", nullptr}});
    }
    if (!put.attachment) {
        return dump({{"error", "a sample without dora metadata"}});
    }
    auto metadata = message::decode(std::as_bytes(*put.attachment));
    if (!metadata) {
        return dump({{"error", "metadata that does not decode: " + metadata.error().message()}});
    }
    const auto& info = metadata->type_info;
    j["type"] = message::arrow_type_name(info);
    j["length"] = info.length;
    j["timestamp_ns"] = metadata->timestamp.time_ns;
    j["parameters"] = message::parameters_to_json(metadata->parameters);
    auto rendered = message::arrow_to_json(info, std::as_bytes(put.payload), {.max_elements = 256});
    if (!rendered) {
        j["error"] = rendered.error().message();
        return dump(j);
    }
    j["value"] = rendered->value;
    j["truncated"] = rendered->truncated;
    if (auto text = message::message_text(info, std::as_bytes(put.payload))) {
        json parsed = json::parse(*text, nullptr, false);
        if (!parsed.is_discarded()) j["json"] = std::move(parsed);
        j["text"] = std::move(*text);
    }
    return dump(j);
}

}  // namespace

Result<std::unique_ptr<WebView>> WebView::start(EventLoop& loop, WebViewOptions options,
                                                WebSource& source) {
    std::unique_ptr<WebView> view(new WebView(loop, std::move(options), source));
    HttpServerOptions server;
    server.host = view->options_.host;
    server.port = view->options_.port;
    server.log = view->options_.log;
    WebView* raw = view.get();
    auto started = HttpServer::start(
        loop, server,
        [raw](const HttpRequest& request, HttpReply& reply) { raw->handle(request, reply); });
    if (!started) {
        return fail(started.error());
    }
    view->server_ = std::move(*started);
    return view;
}

WebView::~WebView() {
    pages_.clear();
    watches_.clear();
    session_.reset();
    server_.reset();
}

std::optional<HttpResponse> WebView::refuse(const HttpRequest& request) const {
    if (options_.token) {
        auto bearer = request.header("authorization");
        if (bearer.starts_with("Bearer ") && same_secret(bearer.substr(7), *options_.token)) {
            return std::nullopt;
        }
        if (auto cookie = request.cookie(kCookie);
            cookie && same_secret(*cookie, *options_.token)) {
            return std::nullopt;
        }
        if (auto given = request.param("token"); given && same_secret(*given, *options_.token)) {
            // Remember it in a cookie and show the page without the token in its address.
            HttpResponse r = text(302, "authenticated; continue to " + request.path);
            r.headers.emplace_back("Location", request.path);
            r.headers.emplace_back("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; "
                                                             "SameSite=Strict",
                                                             kCookie, *options_.token));
            return r;
        }
        return text(401,
                    "this web view needs the cluster token: open /?token=<token> once (the "
                    "token of the coordinator's --token-file or DORA_TOKEN), or send "
                    "`Authorization: Bearer <token>`");
    }
    if (!request.loopback) {
        return text(403,
                    "without a cluster token this web view serves only browsers on the "
                    "coordinator's machine; to serve others, start the coordinator with "
                    "--token-file FILE (or DORA_TOKEN) and open /?token=<token>");
    }
    if (!plain_host(request.header("host"))) {
        return text(403,
                    "open this web view as http://127.0.0.1:<port>/ or http://localhost:<port>/ "
                    "(other host names are refused without a cluster token)");
    }
    return std::nullopt;
}

json WebView::nodes_json(const WebDataflow& d, const WebStats* stats) const {
    json out = json::array();
    std::map<std::string, const message::NodeResultInfo*> results;
    for (const auto& r : d.info.results) results[r.node_id] = &r;
    const bool active = d.info.status != "finished" && d.info.status != "failed";
    for (const auto& [machine, nodes] : d.info.nodes_per_machine) {
        for (const auto& node : nodes) {
            json n = {{"id", node}, {"machine", machine}};
            std::string status = active ? "running" : "finished";
            if (std::find(d.info.waiting.begin(), d.info.waiting.end(), node) !=
                d.info.waiting.end()) {
                status = "waiting to join";
            }
            if (auto r = results.find(node); r != results.end()) {
                status = r->second->success ? "exited (0)" : r->second->status;
            }
            if (stats != nullptr) {
                if (auto s = stats->nodes.find(node); s != stats->nodes.end()) {
                    const WebNodeStats& ns = s->second;
                    if (!ns.status.empty()) status = ns.status;
                    if (ns.pid) n["pid"] = *ns.pid;
                    if (ns.cpu_percent) n["cpu"] = *ns.cpu_percent;
                    if (ns.rss_bytes) n["rss"] = *ns.rss_bytes;
                    if (ns.restarts) n["restarts"] = *ns.restarts;
                    if (ns.dropped) n["dropped"] = *ns.dropped;
                }
            }
            n["status"] = status;
            out.push_back(std::move(n));
        }
    }
    return out;
}

json WebView::dataflow_json(const WebDataflow& d) const {
    json graph = json::object();
    if (!d.yaml.empty()) {
        auto descriptor = parse_descriptor(d.yaml, d.path.empty() ? "dataflow.yml" : d.path);
        if (descriptor) {
            graph = web::graph_json(*descriptor, [&](const NodeDescriptor& node) {
                return machine_of(d.info, node.id);
            });
        }
    }
    return {{"id", d.info.id},
            {"name", d.info.name},
            {"status", d.info.status},
            {"graph", graph},
            {"nodes", nodes_json(d, nullptr)}};
}

void WebView::handle(const HttpRequest& request, HttpReply& reply) {
    if (auto refused = refuse(request)) {
        reply.respond(std::move(*refused));
        return;
    }
    const std::string& path = request.path;
    if (path == "/" || path.starts_with("/dataflow/")) {
        const web::Asset* page = web::find_asset("/assets/index.html");
        reply.respond({200, std::string(page->content_type), std::string(page->body), {}});
        return;
    }
    if (path.starts_with("/assets/")) {
        if (const web::Asset* asset = web::find_asset(path)) {
            reply.respond({200, std::string(asset->content_type), std::string(asset->body), {}});
            return;
        }
        reply.respond(text(404, "no such file"));
        return;
    }
    if (path == "/api/dataflows") {
        json list = json::array();
        for (const auto& d : source_.web_dataflows()) {
            json machines = json::array();
            for (const auto& [machine, nodes] : d.info.nodes_per_machine) {
                machines.push_back(machine.empty() ? "(default)" : machine);
            }
            list.push_back({{"id", d.info.id},
                            {"name", d.info.name},
                            {"status", d.info.status},
                            {"machines", machines}});
        }
        reply.respond(json_response({{"dataflows", list}}));
        return;
    }
    constexpr std::string_view kApi = "/api/dataflow/";
    if (path.starts_with(kApi)) {
        std::string rest = path.substr(kApi.size());
        const size_t slash = rest.find('/');
        const std::string id = rest.substr(0, slash);
        const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
        auto d = source_.web_dataflow(id);
        if (!d) {
            reply.respond(text(404, "no dataflow " + id + " on this coordinator (see /)"));
            return;
        }
        if (what.empty()) {
            reply.respond(json_response(dataflow_json(*d)));
        } else if (what == "events") {
            open_events(*d, reply);
        } else if (what == "watch") {
            auto output = request.param("output");
            if (!output || output->find('/') == std::string::npos) {
                reply.respond(text(400, "say which output: ?output=<node>/<output>"));
                return;
            }
            open_watch(*d, *output, reply);
        } else {
            reply.respond(text(404, "no such page"));
        }
        return;
    }
    reply.respond(text(404, "no such page"));
}

void WebView::on_log(const message::LogLine& line) {
    auto& tail = log_tail_[line.dataflow_id];
    tail.push_back(line);
    while (tail.size() > kLogTailLines) tail.pop_front();
    if (log_tail_.size() > kMaxLogTails) {
        // The oldest dataflow ids sort first (uuid v7): forget its tail.
        log_tail_.erase(log_tail_.begin());
    }
    const std::string event = dump({{"node", line.node_id},
                                    {"machine", line.machine_id},
                                    {"stream", line.stream},
                                    {"line", line.line}});
    for (auto& [id, page] : pages_) {
        if (page.dataflow_id == line.dataflow_id) page.stream->send("log", event);
    }
    drop_closed();
}

void WebView::open_events(const WebDataflow& d, HttpReply& reply) {
    auto stream = reply.stream();
    if (!stream) return;
    const uint64_t id = next_id_++;
    pages_[id] = PageStream{d.info.id, stream, {}, false};
    if (auto tail = log_tail_.find(d.info.id); tail != log_tail_.end()) {
        for (const auto& line : tail->second) {
            stream->send("log", dump({{"node", line.node_id},
                                      {"machine", line.machine_id},
                                      {"stream", line.stream},
                                      {"line", line.line}}));
        }
    }
    send_state(id, WebStats{});
    if (!ticker_.active()) {
        ticker_ = loop_.add_periodic(kStateInterval, [this] { tick(); });
    }
}

void WebView::tick() {
    drop_closed();
    if (pages_.empty()) {
        ticker_.cancel();
        return;
    }
    for (auto& [id, page] : pages_) {
        if (page.asking) continue;
        page.asking = true;
        const uint64_t page_id = id;
        source_.web_stats(page.dataflow_id, [this, page_id](WebStats stats) {
            send_state(page_id, std::move(stats));
        });
    }
}

void WebView::send_state(uint64_t page_id, WebStats stats) {
    auto it = pages_.find(page_id);
    if (it == pages_.end()) return;
    PageStream& page = it->second;
    page.asking = false;
    auto d = source_.web_dataflow(page.dataflow_id);
    if (!d) {
        page.stream->send("state", dump({{"status", "gone"}, {"nodes", json::array()}}));
        return;
    }
    json rates = json::object();
    const auto now = loop_.now();
    if (!stats.edge_messages.empty()) {
        // The oldest snapshot within the window against this one.
        while (page.history.size() > 1 && now - page.history[1].first >= kRateWindow) {
            page.history.pop_front();
        }
        if (!page.history.empty()) {
            const auto& [then, before] = page.history.front();
            const double seconds = std::chrono::duration<double>(now - then).count();
            for (const auto& [edge, count] : stats.edge_messages) {
                auto old = before.find(edge);
                if (seconds > 0 && old != before.end() && count >= old->second) {
                    rates[edge] = static_cast<double>(count - old->second) / seconds;
                }
            }
        }
        page.history.emplace_back(now, stats.edge_messages);
    }
    page.stream->send("state", dump({{"status", d->info.status},
                                     {"nodes", nodes_json(*d, &stats)},
                                     {"rates", rates},
                                     {"dropped", message::total_dropped(d->info.drops)}}));
}

Result<> WebView::ensure_session() {
    std::vector<zenoh::Endpoint> endpoints;
    for (const auto& daemon : source_.web_daemons()) {
        if (!daemon.connected) continue;
        for (const auto& text : daemon.zenoh_endpoints) {
            if (auto endpoint = zenoh::parse_endpoint(text)) endpoints.push_back(*endpoint);
        }
    }
    if (!session_) {
        zenoh::SessionOptions options;
        options.config.mode = zenoh::Mode::kPeer;
        options.config.multicast.enabled = false;
        options.transport.log = [](std::string_view) {};
        auto session = zenoh::Session::open(loop_, options);
        if (!session) {
            return fail(session.error().context("opening the web view's Zenoh session"));
        }
        session_ = std::move(*session);
        if (options_.log) {
            options_.log(
                fmt::format("web view: watching values through the daemons' Zenoh "
                            "endpoints ({})",
                            endpoints.size()));
        }
    }
    if (auto ok = ensure_certificate(endpoints); !ok) {
        return ok;
    }
    for (const auto& endpoint : endpoints) {
        session_->connect_to(endpoint);  // again for one already dialled: nothing
    }
    return {};
}

Result<> WebView::ensure_certificate(const std::vector<zenoh::Endpoint>& endpoints) {
    const bool tls = std::any_of(endpoints.begin(), endpoints.end(),
                                 [](const zenoh::Endpoint& e) { return e.protocol == "tls"; });
    if (!tls || !options_.cluster_tls ||
        (certificate_renew_at_ != 0 && pki::unix_now() < certificate_renew_at_)) {
        return {};
    }
    auto held = options_.cluster_tls();
    if (!held) {
        return fail(held.error().context("a certificate of the cluster CA for the web view"));
    }
    if (auto ok = session_->set_tls(held->keys); !ok) {
        return fail(ok.error().context("the web view's certificate of the cluster CA"));
    }
    certificate_renew_at_ = held->renew_at;
    return {};
}

void WebView::open_watch(const WebDataflow& d, const std::string& output, HttpReply& reply) {
    const size_t slash = output.find('/');
    const std::string node = output.substr(0, slash);
    const std::string out = output.substr(slash + 1);
    if (auto ok = ensure_session(); !ok) {
        reply.respond(text(503, ok.error().message()));
        return;
    }
    auto stream = reply.stream();
    if (!stream) return;
    const uint64_t id = next_id_++;
    auto subscription =
        session_->declare_subscriber(message::output_key(message::kNetworkId, d.info.id, node, out),
                                     [this, id](const zenoh::Sample& sample) {
                                         auto it = watches_.find(id);
                                         if (it != watches_.end())
                                             it->second.pending = value_event(sample.put);
                                     });
    if (!subscription) {
        stream->send("problem", dump({{"error", subscription.error().message()}}));
        stream->close();
        return;
    }
    watches_[id] = ValueWatch{stream, std::move(*subscription), std::nullopt};
    if (!flusher_.active()) {
        flusher_ = loop_.add_periodic(kValueInterval, [this] {
            for (auto& [wid, watch] : watches_) {
                if (watch.pending) {
                    std::string event = std::move(*watch.pending);
                    watch.pending.reset();
                    const bool problem = event.starts_with("{\"error\"");
                    watch.stream->send(problem ? "problem" : "value", event);
                }
            }
            drop_closed();
        });
    }
}

void WebView::drop_closed() {
    std::erase_if(pages_, [](const auto& p) { return p.second.stream->closed(); });
    std::erase_if(watches_, [](const auto& w) { return w.second.stream->closed(); });
    if (watches_.empty()) {
        flusher_.cancel();
        if (session_) {
            // Nobody watches a value: the daemons publish nothing more for this view.
            session_.reset();
            if (options_.log) {
                options_.log(
                    "web view: nobody watches a value any more: its Zenoh session is "
                    "closed");
            }
        }
    }
    if (pages_.empty()) ticker_.cancel();
}

}  // namespace dora::coordinator
