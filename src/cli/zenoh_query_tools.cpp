// `dora zenoh get|queryable|liveliness|sub-liveliness|get-liveliness`: queries and liveliness
// over our own session, shaped like zenoh's examples z_get, z_queryable, z_liveliness,
// z_sub_liveliness and z_get_liveliness (same flags where they have them, same output lines), so
// they pair with Rust Zenoh and zenoh-pico. Every run is bounded: get and get-liveliness by their
// timeout, the others by -n/--seconds or a signal.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/error.hpp"
#include "zenoh/keyexpr.hpp"

namespace dora::cli {
namespace {

using namespace std::chrono_literals;

std::string checked_key(const std::string& key, std::string_view tool) {
    if (auto valid = zenoh::keyexpr::validate(key); !valid) {
        throw Exception(valid.error().context(fmt::format("dora zenoh {}: key '{}'", tool, key)));
    }
    return key;
}

void print_line(const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
}

// Runs `then` once `ready()` holds or `wait` passed (checked every 5 ms on the loop).
class Wait {
  public:
    void start(EventLoop& loop, std::function<bool()> ready, std::chrono::milliseconds wait,
               std::function<void()> then) {
        auto deadline = loop.now() + wait;
        if (ready()) {
            then();
            return;
        }
        timer_ = loop.add_periodic(
            5ms, [this, &loop, ready = std::move(ready), deadline, then = std::move(then)] {
                if (ready() || loop.now() >= deadline) {
                    auto next = then;
                    timer_.cancel();
                    next();
                }
            });
    }

  private:
    Timer timer_;
};

// Stops the loop once everything queued was written (or after `limit`).
void stop_when_flushed(Wait& waiter, ZenohRuntime& rt, std::chrono::milliseconds limit) {
    waiter.start(
        *rt.loop, [&rt] { return rt.session->pending_bytes() == 0; }, limit,
        [&rt] { rt.loop->stop(); });
}

// Calls `send()` once `ready()` holds (or `wait` passed), then runs the loop until the query it
// sent ends (its done callback stops the loop) or the time it may take passed. A query that
// cannot be sent is thrown, named after `tool`.
void run_query(ZenohRuntime& rt, const std::function<bool()>& ready, std::chrono::milliseconds wait,
               std::chrono::milliseconds timeout, const std::function<Result<>()>& send,
               std::string_view tool) {
    std::optional<Error> failure;
    Wait waiter;
    waiter.start(*rt.loop, ready, wait, [&] {
        if (auto sent = send(); !sent) {
            failure = sent.error();
            rt.loop->stop();
        }
    });
    run_zenoh_loop(*rt.loop, wait + timeout + 2000ms);
    if (failure) {
        throw Exception(failure->context(tool));
    }
}

// ---- get ----

struct GetOptions {
    ZenohCliOptions zenoh;
    std::string selector = "demo/example/**";
    std::string payload;
    bool payload_given = false;
    std::string attachment;
    unsigned timeout_ms = 10000;
    unsigned wait_ms = 2000;
};

void run_get(const GetOptions& o) {
    // A selector is KEYEXPR[?PARAMETERS].
    auto question = o.selector.find('?');
    std::string key = checked_key(o.selector.substr(0, question), "get");
    std::string parameters = question == std::string::npos ? "" : o.selector.substr(question + 1);
    ZenohRuntime rt = open_zenoh(resolve_zenoh_config(o.zenoh, "dora zenoh get"));
    auto& session = *rt.session;
    zenoh::GetOptions options;
    options.parameters = parameters;
    if (o.payload_given) {
        options.payload = zenoh::as_bytes(o.payload);
    }
    if (!o.attachment.empty()) {
        options.attachment = zenoh::as_bytes(o.attachment);
    }
    options.timeout = std::chrono::milliseconds(o.timeout_ms);
    auto on_reply = [](const zenoh::GetReply& reply) {
        if (reply.put == nullptr) {
            print_line(
                fmt::format(">> Received (ERROR: '{}')", printable_payload(reply.err->payload)));
            return;
        }
        std::string line = fmt::format(">> Received ('{}': '{}')", reply.key,
                                       printable_payload(reply.put->payload));
        if (reply.put->attachment) {
            line += fmt::format(" (attachment: '{}')", printable_payload(*reply.put->attachment));
        }
        print_line(line);
    };
    // Query once a queryable is known (a client: once its router is linked), or after --wait.
    run_query(
        rt, [&] { return session.has_remote_queryable(key); }, std::chrono::milliseconds(o.wait_ms),
        options.timeout,
        [&] {
            print_line(fmt::format("Sending Query '{}'...", o.selector));
            return session.get(key, options, on_reply, [&] { rt.loop->stop(); });
        },
        "dora zenoh get");
}

// ---- queryable ----

struct QueryableOptions {
    ZenohCliOptions zenoh;
    std::string key = "demo/example/zenoh-dora-queryable";
    std::string value = "Queryable from dora!";
    std::string error;  // non-empty: answer with this error instead
    bool complete = false;
    uint64_t count = 0;
    unsigned seconds = 0;
};

void run_queryable(const QueryableOptions& o) {
    std::string key = checked_key(o.key, "queryable");
    ZenohRuntime rt = open_zenoh(resolve_zenoh_config(o.zenoh, "dora zenoh queryable"));
    uint64_t answered = 0;
    Wait flushed;
    auto queryable = rt.session->declare_queryable(
        key,
        [&](zenoh::QueryRequest& query) {
            std::string selector(query.key);
            if (!query.parameters.empty()) {
                selector += "?" + std::string(query.parameters);
            }
            std::string line = fmt::format(">> [Queryable ] Received Query '{}'", selector);
            if (query.payload) {
                line += fmt::format(" with payload '{}'", printable_payload(*query.payload));
            }
            if (query.attachment) {
                line += fmt::format(" (attachment: '{}')", printable_payload(*query.attachment));
            }
            print_line(line);
            Result<> sent = o.error.empty() ? query.reply(key, zenoh::as_bytes(o.value),
                                                          std::nullopt, query.attachment)
                                            : query.reply_err(zenoh::as_bytes(o.error));
            if (!sent) {
                // A wildcard queryable key cannot be a reply key: answer on the query's key.
                sent = query.reply(query.key, zenoh::as_bytes(o.value));
            }
            if (!sent) {
                fmt::print(stderr, "dora zenoh queryable: cannot reply: {}\n",
                           sent.error().message());
            }
            if (o.count != 0 && ++answered >= o.count) {
                stop_when_flushed(flushed, rt, 2000ms);
            }
        },
        o.complete);
    if (!queryable) {
        throw Exception(queryable.error().context("dora zenoh queryable"));
    }
    fmt::print(stderr, "Declaring Queryable on '{}'...\n", key);
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
}

// ---- liveliness ----

struct LivelinessOptions {
    ZenohCliOptions zenoh;
    std::string key = "group1/zenoh-dora";
    unsigned seconds = 0;
};

void run_liveliness(const LivelinessOptions& o) {
    std::string key = checked_key(o.key, "liveliness");
    ZenohRuntime rt = open_zenoh(resolve_zenoh_config(o.zenoh, "dora zenoh liveliness"));
    auto token = rt.session->declare_token(key);
    if (!token) {
        throw Exception(token.error().context("dora zenoh liveliness"));
    }
    print_line(fmt::format("Declaring LivelinessToken on '{}'...", key));
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
    print_line("Undeclaring LivelinessToken...");
    token->undeclare();
    Wait flushed;
    stop_when_flushed(flushed, rt, 1000ms);
    run_zenoh_loop(*rt.loop, 2000ms);
}

struct SubLivelinessOptions {
    ZenohCliOptions zenoh;
    std::string key = "group1/**";
    bool history = false;
    uint64_t count = 0;
    unsigned seconds = 0;
};

void run_sub_liveliness(const SubLivelinessOptions& o) {
    std::string key = checked_key(o.key, "sub-liveliness");
    ZenohRuntime rt = open_zenoh(resolve_zenoh_config(o.zenoh, "dora zenoh sub-liveliness"));
    uint64_t seen = 0;
    auto subscriber = rt.session->declare_liveliness_subscriber(
        key,
        [&](std::string_view token, bool alive) {
            print_line(fmt::format(">> [LivelinessSubscriber] {} ('{}')",
                                   alive ? "New alive token" : "Dropped token", token));
            if (o.count != 0 && ++seen >= o.count) {
                rt.loop->stop();
            }
        },
        o.history);
    if (!subscriber) {
        throw Exception(subscriber.error().context("dora zenoh sub-liveliness"));
    }
    fmt::print(stderr, "Declaring Liveliness Subscriber on '{}'...\n", key);
    run_zenoh_loop(*rt.loop, std::chrono::seconds(o.seconds));
}

struct GetLivelinessOptions {
    ZenohCliOptions zenoh;
    std::string key = "group1/**";
    unsigned timeout_ms = 10000;
    unsigned wait_ms = 2000;
};

void run_get_liveliness(const GetLivelinessOptions& o) {
    std::string key = checked_key(o.key, "get-liveliness");
    ZenohRuntime rt = open_zenoh(resolve_zenoh_config(o.zenoh, "dora zenoh get-liveliness"));
    auto& session = *rt.session;
    run_query(
        rt, [&] { return session.face_count() > 0; }, std::chrono::milliseconds(o.wait_ms),
        std::chrono::milliseconds(o.timeout_ms),
        [&] {
            print_line(fmt::format("Sending Liveliness Query '{}'...", key));
            return session.liveliness_get(
                key, std::chrono::milliseconds(o.timeout_ms),
                [](std::string_view token, bool) {
                    print_line(fmt::format(">> Alive token ('{}')", token));
                },
                [&] { rt.loop->stop(); });
        },
        "dora zenoh get-liveliness");
}

}  // namespace

void add_zenoh_query_tools(CLI::App* group) {
    auto get = std::make_shared<GetOptions>();
    auto* g = group->add_subcommand(
        "get",
        "Query a key expression and print the replies (like z_get), until every "
        "queryable answered or the timeout passed");
    g->add_option("SELECTOR", get->selector, "KEYEXPR[?PARAMETERS]")->capture_default_str();
    add_zenoh_options(g, get->zenoh);
    auto* payload = g->add_option("-p,--payload,-v,--value", get->payload, "Query payload (text)");
    g->add_option("-a,--attach", get->attachment, "Query attachment (text)");
    g->add_option("-t,--timeout", get->timeout_ms, "Milliseconds to wait for replies")
        ->capture_default_str();
    g->add_option("--wait", get->wait_ms,
                  "Milliseconds to wait for a matching queryable (or a router) first")
        ->capture_default_str();
    g->callback([get, payload] {
        get->payload_given = payload->count() > 0;
        run_get(*get);
    });

    auto queryable = std::make_shared<QueryableOptions>();
    auto* q = group->add_subcommand(
        "queryable", "Answer queries on a key expression (like z_queryable) with a value");
    q->add_option("KEY", queryable->key)->capture_default_str();
    q->add_option("-k,--key", queryable->key, "Key expression (instead of the positional)");
    add_zenoh_options(q, queryable->zenoh);
    q->add_option("-v,--value,-p,--payload", queryable->value, "Reply value (text)")
        ->capture_default_str();
    q->add_option("--error", queryable->error, "Answer with this error instead of a value");
    q->add_flag("--complete", queryable->complete, "Declare the queryable complete");
    q->add_option("-n,--count", queryable->count, "Exit after this many queries (0: no limit)");
    q->add_option("--seconds", queryable->seconds, "Exit after this many seconds (0: no limit)");
    q->callback([queryable] { run_queryable(*queryable); });

    auto liveliness = std::make_shared<LivelinessOptions>();
    auto* l = group->add_subcommand(
        "liveliness", "Declare a liveliness token (like z_liveliness) until Ctrl-C or SIGTERM");
    l->add_option("KEY", liveliness->key)->capture_default_str();
    l->add_option("-k,--key", liveliness->key, "Key (instead of the positional)");
    add_zenoh_options(l, liveliness->zenoh);
    l->add_option("--seconds", liveliness->seconds, "Undeclare after this many seconds (0: never)");
    l->callback([liveliness] { run_liveliness(*liveliness); });

    auto sub = std::make_shared<SubLivelinessOptions>();
    auto* s = group->add_subcommand(
        "sub-liveliness",
        "Print liveliness tokens as they appear and go away (like z_sub_liveliness)");
    s->add_option("KEYEXPR", sub->key)->capture_default_str();
    s->add_option("-k,--key", sub->key, "Key expression (instead of the positional)");
    add_zenoh_options(s, sub->zenoh);
    s->add_flag("--history", sub->history, "Also print the tokens alive already");
    s->add_option("-n,--count", sub->count, "Exit after this many events (0: no limit)");
    s->add_option("--seconds", sub->seconds, "Exit after this many seconds (0: no limit)");
    s->callback([sub] { run_sub_liveliness(*sub); });

    auto getl = std::make_shared<GetLivelinessOptions>();
    auto* gl = group->add_subcommand(
        "get-liveliness", "List the liveliness tokens alive now (like z_get_liveliness)");
    gl->add_option("KEYEXPR", getl->key)->capture_default_str();
    gl->add_option("-k,--key", getl->key, "Key expression (instead of the positional)");
    add_zenoh_options(gl, getl->zenoh);
    gl->add_option("-t,--timeout", getl->timeout_ms, "Milliseconds to wait for answers")
        ->capture_default_str();
    gl->add_option("--wait", getl->wait_ms, "Milliseconds to wait for a link first")
        ->capture_default_str();
    gl->callback([getl] { run_get_liveliness(*getl); });
}

}  // namespace dora::cli
