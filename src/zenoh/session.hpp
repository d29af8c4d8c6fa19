// A Zenoh session in client, peer or router mode (docs/zenoh-protocol.md sections 5 and 9):
// listens and connects per ZenohConfig, keeps one face per transport with the keyexprs,
// subscribers, queryables, liveliness tokens and interests that face declared, delivers PUSHes to
// local subscribers, and forwards them to the faces whose subscribers match (only those; a client
// sends everything to its router, which filters). Interests (subscribers, queryables, tokens) are
// answered the way zenoh-pico and Rust expect: aggregated replies carry the interest's own key,
// every "current" reply ends with D_FINAL, and "future" interests get declarations and
// undeclarations as matches come and go.
//
// Mode rules: a router forwards between faces and answers interests with local and remote
// entities; a peer delivers locally, declares its entities to every face and answers interests
// with its local ones; a client declares its entities to its routers.
// Queries: REQUESTs go to local queryables and (router) to faces whose queryables match, with
// the RESPONSEs mapped back; the origin gets one RESPONSE_FINAL once every target finished.
// get() sends a query (to a client's router, or to the faces with a matching queryable) and
// reports replies until every target finished or the timeout passed.
// Liveliness: tokens are declared like subscribers; liveliness subscribers see tokens come and go
// (a client asks its router with a token interest); liveliness_get() lists the live tokens.
//
// Multicast scouting (only when config.multicast.enabled): routers and peers answer SCOUTs with
// a HELLO naming their listeners; a client without connect endpoints scouts until it has a
// router (or peer), a peer scouts for routers and peers and connects to each one it has no link
// with (between two of our peers, the one with the smaller ZID connects).
//
// Faces that open and close are logged (peer address, ZID, whatami) through the transport log.
//
// Bounds on what peers can make a session hold (session_limits.cpp; ZenohConfig names the keys):
// accepted links that have not finished INIT/OPEN are capped in all (accept_pending) and per
// source address (dora.limits.accept_pending_per_address) and have accept_timeout to finish; the
// newest over a cap is closed. Established links are capped at max_sessions. One link may hold
// dora.limits.declarations_per_link key expressions, subscribers, queryables, tokens and
// interests (more are refused; the first refusal logged); a key expression longer than
// dora.limits.key_expr_length closes its link. Refusals are logged at most once per second.
//
// Subscribers, queryables, tokens and liveliness subscribers are handles (Subscription):
// destroying one undeclares it; one that outlives its session is inert.
//
// Threading contract: a Session belongs to one EventLoop; every method is called on the loop
// thread and callbacks run there. A sample callback may call put(), declare subscribers and
// destroy Subscriptions, its own included. Subscriptions are used on the loop thread. The one
// exception is Publisher (from publisher()): any thread may publish through it.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "zenoh/config.hpp"
#include "zenoh/copy_gaps.hpp"
#include "zenoh/scouting.hpp"
#include "zenoh/tcp_link.hpp"
#include "zenoh/tls_link.hpp"
#include "zenoh/transport.hpp"

namespace dora::zenoh {

// One received sample; views valid only during the callback.
struct Sample {
    std::string_view key;
    const Put& put;
};
using SampleCallback = std::function<void(const Sample&)>;

// A query as a local queryable sees it; views valid only during the callback. reply() and
// reply_err() may be called any number of times during the callback; the query is finished
// (RESPONSE_FINAL) when the callback returns.
class QueryRequest {
  public:
    virtual ~QueryRequest() = default;
    std::string_view key;         // the query's key expression
    std::string_view parameters;  // the selector's parameters ("" if none)
    std::optional<Bytes> payload;
    std::optional<Encoding> encoding;
    std::optional<Bytes> attachment;
    // A reply sample; `reply_key` must be a key (not an expression) that intersects `key`.
    virtual Result<> reply(std::string_view reply_key, Bytes value,
                           std::optional<Encoding> value_encoding = std::nullopt,
                           std::optional<Bytes> reply_attachment = std::nullopt) = 0;
    virtual Result<> reply_err(Bytes message,
                               std::optional<Encoding> message_encoding = std::nullopt) = 0;
};
using QueryCallback = std::function<void(QueryRequest&)>;

// One reply to get(): a sample (put) or an error (err); views valid only during the callback.
struct GetReply {
    std::string_view key;
    const Put* put = nullptr;
    const Err* err = nullptr;
};
struct GetOptions {
    std::string_view parameters;
    std::optional<Bytes> payload;
    std::optional<Encoding> encoding;
    std::optional<Bytes> attachment;
    std::chrono::milliseconds timeout{10000};
};
using ReplyCallback = std::function<void(const GetReply&)>;
// Liveliness: a token's key and whether it appeared (true) or went away (false).
using TokenCallback = std::function<void(std::string_view key, bool alive)>;

// One sample handed to a Publisher by another thread. The views (key, payload, attachment) must
// stay valid until `release` runs.
struct OutgoingSample {
    std::string_view key;
    Bytes payload;
    std::optional<Bytes> attachment;
    // Runs exactly once: in the loop's place right after the sample was put (its bytes are then
    // copied into the link batches, or it was dropped for a link that does not read), or on the
    // publishing thread if the session is already gone. May be empty.
    std::function<void()> release;
    // Whether a failure to deliver it counts (Session::undelivered); false for control samples
    // such as end-of-stream markers, which are no messages.
    bool counted = true;
    // Backpressure: while a link has more than kPublishHoldBytes not yet written (the receiver
    // does not keep up, or paused reading: Session::hold_reading), this sample and every one
    // handed over after it wait in the Publisher's queue (not released, so their sender stops
    // taking more) instead of being queued on the link; nothing is dropped for a slow link.
    bool wait = false;
};

// What a link may have queued and not written before samples marked `wait` wait.
inline constexpr size_t kPublishHoldBytes = size_t{4} << 20;

class Session;

// A declared subscriber, queryable, liveliness token or liveliness subscriber: move-only;
// destroying it (or undeclare()) undeclares it on the session and to its faces, after which its
// callback is never called again. Inert once the session is gone, and when default-constructed.
//
// Thread safety: the session's loop thread only (like the session).
class Subscription {
  public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { undeclare(); }

    void undeclare();
    // Declared, and its session still open.
    [[nodiscard]] bool active() const;
    // The subscriber's entity id, as declared to the faces (0 when inert).
    [[nodiscard]] uint32_t id() const { return id_; }

  private:
    friend class Session;
    struct Anchor;  // the session, as long as it lives
    enum class Kind : uint8_t { kSubscriber, kQueryable, kToken, kLivelinessSubscriber };
    Subscription(std::weak_ptr<Anchor> session, uint32_t id, Kind kind = Kind::kSubscriber)
        : session_(std::move(session)), id_(id), kind_(kind) {}
    std::weak_ptr<Anchor> session_;
    uint32_t id_ = 0;
    Kind kind_ = Kind::kSubscriber;
};

// A thread-safe handle for publishing from threads other than the loop thread. publish() hands
// over a whole batch with one lock and at most one wake-up of the loop: while the loop has not
// drained earlier batches, new ones are appended to the same hand-over. The loop puts the samples
// in order (the same rules as Session::put: local subscribers, matching faces, drops counted for
// faces that do not read), then runs each release. When the loop sleeps, publish() does that
// itself in the loop's place (EventLoop::try_borrow) and the links are written before it returns:
// no wake-up of the loop thread on the way out; `release` and the subscriber callbacks of local
// matches then run on the publishing thread, still never concurrently with the loop.
//
// Thread safety: copyable; every method may be called from any thread, also after the Session
// was destroyed (publish then fails and releases at once). The EventLoop must outlive the
// Session (as always); Publishers may outlive both.
class Publisher {
  public:
    Publisher() = default;
    // Queues `samples` for the loop thread. Fails (after running every release) if the session
    // is closed; invalid keys are logged and skipped on the loop, never thrown back.
    [[nodiscard]] Result<> publish(std::vector<OutgoingSample> samples) const;
    // Samples handed over and not yet put: a producer can bound its backlog with this.
    [[nodiscard]] size_t queued() const;

  private:
    friend class Session;
    struct Queue;
    explicit Publisher(std::shared_ptr<Queue> queue) : queue_(std::move(queue)) {}
    std::shared_ptr<Queue> queue_;
};

struct SessionOptions {
    ZenohConfig config;
    TransportConfig transport;  // whatami is set from config.mode
    // A dialled endpoint that fails or drops is dialled again after reconnect_delay, doubling
    // per failure in a row up to reconnect_max_delay (a dead peer is not hammered; a healed one
    // is found again within the cap); an established link resets the delay.
    std::chrono::milliseconds reconnect_delay{250};
    std::chrono::milliseconds reconnect_max_delay{2000};
    // Non-empty: config.tls is ignored and the TLS credentials come later (set_tls; a daemon
    // waiting for its certificate of the cluster CA). Until then tls/ listeners accept nothing
    // (each refusal logged with this reason) and tls/ endpoints are dialled once they arrive.
    std::string tls_later;
};

class Session final : public TransportHandler {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Session>> open(EventLoop& loop,
                                                               SessionOptions options);
    ~Session() override;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Subscribes to a key expression (canonized first) until the Subscription is destroyed.
    [[nodiscard]] Result<Subscription> declare_subscriber(std::string_view key, SampleCallback cb);
    // Publishes to local subscribers and to the faces that want it.
    [[nodiscard]] Result<> put(std::string_view key, Bytes payload,
                               std::optional<Encoding> encoding = std::nullopt,
                               std::optional<Bytes> attachment = std::nullopt);
    // A queryable on a key expression; `complete` says it answers for every key it covers.
    [[nodiscard]] Result<Subscription> declare_queryable(std::string_view key, QueryCallback cb,
                                                         bool complete = false);
    // Sends a query; `on_reply` runs per reply, `on_done` once (every target finished, or the
    // timeout passed; neither runs once the session is gone). Both run on the loop thread, never
    // inside get().
    [[nodiscard]] Result<> get(std::string_view key, const GetOptions& options,
                               ReplyCallback on_reply, std::function<void()> on_done);
    // A liveliness token, alive until the handle goes (or the session dies).
    [[nodiscard]] Result<Subscription> declare_token(std::string_view key);
    // Tokens that appear (true) and go away (false) under `key`; with `history`, the ones
    // already alive are reported too (those this session knows of at once, inside this call).
    [[nodiscard]] Result<Subscription> declare_liveliness_subscriber(std::string_view key,
                                                                     TokenCallback cb,
                                                                     bool history = false);
    // The live tokens under `key` (each reported once, alive = true), then `on_done` once every
    // face asked answered or the timeout passed; never inside this call.
    [[nodiscard]] Result<> liveliness_get(std::string_view key, std::chrono::milliseconds timeout,
                                          TokenCallback on_token, std::function<void()> on_done);
    // Bytes queued on all links and not yet written.
    [[nodiscard]] size_t pending_bytes() const;
    // Counting what this session's own puts on exactly `key` failed to deliver: a put that
    // matched no subscriber at all, and each copy not sent to a matching face (its link is down
    // or does not read). Counting starts at track_undelivered (again: no effect) and stops at
    // untrack_undelivered; undelivered() is 0 for a key not tracked.
    //
    // The copies of a tracked key's puts that are written to a link are numbered, so that the
    // receiver counts what was written and never arrived (a link that died with data in flight):
    // each carries a SourceInfo (this session's zid, sn = 1, 2, ... per receiving session, kept
    // across reconnections; eid kCopiesFromOne) in peer mode, and per router in client mode
    // (eid kCopiesNumbered: a receiver that joins later cannot know where the numbering began).
    // CopyGaps (below) is the receiver's side.
    void track_undelivered(const std::string& key);
    void untrack_undelivered(const std::string& key);
    [[nodiscard]] uint64_t undelivered(const std::string& key) const;
    // A handle through which other threads publish (loop thread to create; see Publisher).
    [[nodiscard]] Publisher publisher();
    // Puts what Publishers have handed over so far now, rather than on the loop's next turn.
    void flush_publishers();
    // Receiver backpressure (daemon/ingress.hpp): while at least one hold is taken, no link is
    // read (what peers send waits in the sockets and TCP slows them; no lease expires meanwhile).
    // Each hold_reading() is matched by one release_reading().
    void hold_reading();
    void release_reading();
    // Connects to one more endpoint (and reconnects to it whenever the link drops, backing off
    // as SessionOptions says). Again for an endpoint already dialled: no effect.
    void connect_to(const Endpoint& endpoint);
    // Stops dialling `endpoint`: a pending attempt is cancelled and a link to it that drops is
    // not dialled again. A link that is up stays up (it still carries data).
    void forget(const Endpoint& endpoint);
    // New TLS credentials (SessionOptions::tls_later, or a renewed certificate): links up keep
    // the ones they started with; new links use these, and tls/ dials put off until now start.
    // A key or certificate that does not load is an error, and the old credentials stay.
    [[nodiscard]] Result<> set_tls(TlsKeys keys);
    // Whether tls/ links wait for set_tls() still.
    [[nodiscard]] bool tls_waiting() const { return tls_links_.waiting(); }
    // Endpoints being dialled (connected, connecting, or waiting to retry).
    [[nodiscard]] std::vector<std::string> dialled() const;
    // How dialling `endpoint` goes (test hook for the backoff); nullopt when not dialled.
    struct DialState {
        unsigned failures = 0;                           // in a row
        std::optional<std::chrono::milliseconds> delay;  // of the retry pending, if any
    };
    [[nodiscard]] std::optional<DialState> dial_state(const Endpoint& endpoint) const;

    [[nodiscard]] const Zid& zid() const { return options_.transport.zid; }
    [[nodiscard]] Mode mode() const { return options_.config.mode; }
    // Ports the listeners got (useful with port 0).
    [[nodiscard]] std::vector<uint16_t> listen_ports() const;
    // Established faces.
    [[nodiscard]] size_t face_count() const;
    // Whether a subscriber of another face (a peer's, or one a router told us of) matches `key`
    // on an established link. In client mode a client asks each router for its subscribers (an
    // interest, current and future); until a router has answered, any link to it counts as a
    // subscriber (it may have one; a client sends every put to its router, which filters).
    [[nodiscard]] bool has_remote_subscriber(std::string_view key) const;
    // Runs `changed` (on the loop thread, never inside a session call; at most once per loop
    // iteration) after has_remote_subscriber() may have changed for some key: a face declared or
    // undeclared a subscriber, or a face opened or closed. Replaces the previous callback.
    void on_remote_subscribers_changed(std::function<void()> changed);
    // The same for queryables (what get() would ask besides the local ones).
    [[nodiscard]] bool has_remote_queryable(std::string_view key) const;

    void on_established(Transport& transport) override;
    void on_message(Transport& transport, const NetworkMessage& message, Reliability reliability,
                    Bytes raw) override;
    void on_closed(Transport& transport, const Error& reason) override;

  private:
    friend class Publisher;
    friend class Subscription;
    // What interests are about: subscribers_, queryables_ and tokens_ (section 5.3).
    enum class EntityKind : uint8_t { kSubscriber, kQueryable, kToken };
    static constexpr size_t kEntityKinds = 3;
    struct FaceInterest {
        uint8_t options = 0;
        std::optional<std::string> key;  // nullopt: every key
        bool aggregate = false;
        uint64_t aggregate_id = 0;  // entity id of the aggregated declarations
        std::array<bool, kEntityKinds> aggregate_declared{};  // per EntityKind
        std::set<uint64_t> declared;  // kind << 32 | token, declared one by one (non-aggregate)
    };
    struct ZidLess {
        bool operator()(const Zid& a, const Zid& b) const {
            return std::lexicographical_compare(a.bytes().begin(), a.bytes().end(),
                                                b.bytes().begin(), b.bytes().end());
        }
    };
    // A tracked key (track_undelivered): copies not sent, and copies written per receiver.
    struct Tracked {
        uint64_t undelivered = 0;
        std::map<Zid, uint64_t, ZidLess> written;  // by the peer zid of the link written to
    };
    struct Face {
        uint64_t id = 0;
        std::unique_ptr<Transport> transport;
        std::optional<Endpoint> reconnect;  // set for faces we connected
        std::unordered_map<uint64_t, std::string> keyexprs;
        std::unordered_map<uint64_t, uint32_t> subscribers;  // their entity id -> token
        std::unordered_map<uint64_t, FaceInterest> interests;
        std::unordered_map<uint64_t, uint32_t> queryables;  // their entity id -> token
        std::unordered_map<uint64_t, uint32_t> tokens;      // their entity id -> token
        uint64_t dropped = 0;  // samples not sent because the face does not read
        // Client mode: the router has answered our subscriber interest (D_FINAL), so the
        // subscribers it declared are all there are (has_remote_subscriber).
        bool subscribers_known = false;
        PendingSlot pending;  // an accepted link until its handshake is done
        bool established = false;
        uint64_t refused_declarations = 0;
    };
    // Client mode: the interest (current and future subscribers, every key) a client sends its
    // router on each link, so that it knows who subscribes anywhere (zero-cost watching).
    static constexpr uint64_t kRouterSubscribersInterest = 0xfffffff0;
    struct Subscriber {
        std::string key;
        uint64_t face = 0;  // 0: local
        SampleCallback callback;
    };
    // A queryable or a liveliness token, local (face 0) or declared by a face.
    struct Entity {
        std::string key;
        uint64_t face = 0;
        bool complete = false;   // queryables
        QueryCallback callback;  // local queryables
    };
    struct LivelinessSubscriber {
        std::string key;
        TokenCallback callback;
        bool history = false;
    };
    // A get() in flight: the faces that have not sent RESPONSE_FINAL yet.
    struct PendingGet {
        ReplyCallback on_reply;
        std::function<void()> on_done;
        std::set<uint64_t> faces;
        bool local_done = false;
        Timer start;  // runs the local queryables (never inside get())
        Timer timeout;
    };
    // A liveliness_get() in flight, by our interest id.
    struct PendingLiveliness {
        std::string key;
        TokenCallback on_token;
        std::function<void()> on_done;
        std::set<uint64_t> faces;
        std::set<std::string, std::less<>> seen;
        bool local_done = false;
        Timer start;
        Timer timeout;
    };

    Session(EventLoop& loop, SessionOptions options);
    [[nodiscard]] Result<> start();
    void connect(const Endpoint& endpoint);
    // `tls`: the link came to a tls/ listener.
    void accept(sys::UniqueFd fd, bool tls);
    void log(std::string_view line) const;
    void warn(std::string_view line) const;  // TransportConfig::warn
    Face* face_of(Transport& transport);

    // Key resolution for what a face sent: its own table (sender mapping) or ours (none).
    [[nodiscard]] Result<std::string_view> resolve(Face& face, const WireExpr& key);

    Face& add_face(std::unique_ptr<Transport> transport, std::optional<Endpoint> reconnect);
    // Limits (session_limits.cpp): false when `message` must not be handled (refused, logged;
    // a key expression over the limit also closes the link).
    [[nodiscard]] bool within_limits(Face& face, const NetworkMessage& message);
    [[nodiscard]] static size_t declarations_of(const Face& face);
    [[nodiscard]] bool over_max_sessions(Face& face);
    // Logs `line` unless a limit was logged less than a second ago (the count goes in the next).
    void log_limit(const std::string& line);
    // Faces whose transport closed are removed at the end of the loop iteration (closed_faces_,
    // reap_): on_closed runs inside the transport's callbacks, or inside a send from route().
    void remove_closed_faces();
    void remove_face(uint64_t id);
    // Queries (session_query.cpp): a router forwards REQUESTs to faces with a matching
    // queryable under its own request ids and maps RESPONSEs back; the origin gets one
    // RESPONSE_FINAL once every target finished (or at once if none matches).
    void on_request(Face& face, const Request& request);
    void on_response(Face& face, const Response& response);
    void on_response_final(Face& face, uint64_t id);
    void finish_query(uint64_t origin_face, uint64_t origin_id);
    void drop_queries_of(uint64_t face);
    // Runs the local queryables matching `key` for one query; replies go to `respond`.
    void run_local_queryables(std::string_view key, const Query& query,
                              const std::function<void(const Response&)>& respond);
    void finish_get(uint64_t id);
    void maybe_finish_get(uint64_t id);
    void undeclare_entity(Subscription::Kind kind, uint32_t id);
    // Liveliness (session_liveliness.cpp).
    // `current_reply`: the token came as a reply to a "current" interest (it existed before);
    // liveliness subscribers without history are not told of it, as in Rust.
    uint32_t add_token(std::string key, uint64_t face, bool current_reply = false);
    void remove_token(uint32_t token);
    void notify_liveliness(std::string_view key, bool alive, bool current_reply = false);
    void send_liveliness_interest(Face& face, uint64_t id, std::string_view key, bool current,
                                  bool future);
    void on_declare_final(Face& face, uint64_t interest_id);
    bool on_liveliness_reply(Face& face, const Declare& declare);
    void finish_liveliness_get(uint64_t id);
    void maybe_finish_liveliness_get(uint64_t id);
    void drop_liveliness_gets_of(uint64_t face);
    void schedule_reconnect(const std::string& endpoint);
    // Scouting (session_scouting.cpp).
    [[nodiscard]] Result<> start_scouting();
    void on_hello(const Hello& hello);
    [[nodiscard]] bool linked_to(const Zid& zid) const;
    // The key a declaration names, canonical; nullopt (logged) if it cannot be used.
    std::optional<std::string> declared_key(Face& face, const Declaration& d,
                                            std::string_view what);
    void on_declare(Face& face, const Declare& declare);
    void on_push(Face& face, const Push& push);
    void route(uint64_t from_face, std::string_view key, const Push& push);
    // False when the push was not sent (link not established, not reading, or a send error).
    // With `tracked`, the copy is numbered (see track_undelivered).
    bool send_push(Face& face, std::string_view key, const Push& push, Tracked* tracked = nullptr);

    // Subscribers (session_interest.cpp holds the interest side).
    void undeclare_subscriber(uint32_t id);
    uint32_t add_subscriber(std::string key, uint64_t face, SampleCallback cb);
    void remove_subscriber(uint32_t token);
    void declare_local_entities(Face& face);
    void on_interest(Face& face, const Interest& interest);
    // A subscriber, queryable or token came (added) or goes: tell the faces interested in it.
    void update_interests(EntityKind kind, uint32_t token, bool added);
    // Calls fn(token, key, owner face, complete) for every entity of `kind`.
    void for_each_entity(
        EntityKind kind,
        const std::function<void(uint32_t, const std::string&, uint64_t, bool)>& fn) const;
    bool visible_to(uint64_t owner_face, const Face& face) const;
    void send_declaration(Face& face, std::optional<uint64_t> interest_id, DeclKind kind,
                          uint64_t id, std::optional<std::string_view> key, bool complete = false);
    // Declares (or undeclares) a local entity to every established face (not in router mode).
    void broadcast_declaration(DeclKind kind, uint32_t token, std::optional<std::string_view> key,
                               bool complete = false);
    uint32_t add_queryable(std::string key, uint64_t face, bool complete, QueryCallback cb);
    void remove_queryable(uint32_t token);

    // Who gets a key: local subscriber tokens and faces with a matching subscriber. Cached per
    // key so routing a PUSH allocates nothing once its key was seen; cleared on any change.
    struct Route {
        std::vector<uint32_t> local;
        std::vector<uint64_t> faces;
        Tracked* tracked = nullptr;  // the key's counters when tracked (tracked_)
    };
    struct KeyHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    const Route& route_for(std::string_view key);
    void invalidate_routes();

    EventLoop& loop_;
    SessionOptions options_;
    std::unordered_map<std::string, Route, KeyHash, std::equal_to<>> routes_;
    std::map<std::string, Tracked, std::less<>> tracked_;  // tracked keys (node-stable)
    std::vector<std::unique_ptr<TcpListener>> listeners_;
    std::shared_ptr<PendingGate> pending_;  // accepted links before INIT/OPEN
    LogThrottle limit_log_;
    TlsLinks tls_links_;                           // the contexts of tls/ links
    std::set<std::string> dials_waiting_for_tls_;  // tls/ dials put off until set_tls()
    std::map<uint64_t, Face> faces_;
    std::unordered_map<Transport*, uint64_t> face_ids_;
    uint64_t next_face_ = 1;
    std::map<uint32_t, Subscriber> subscribers_;
    uint32_t next_token_ = 1;
    uint64_t next_aggregate_ = uint64_t{1} << 31;
    std::string key_buffer_;
    struct Dial {
        Endpoint endpoint;
        unsigned failures = 0;  // in a row; reset when a link to it is established
        std::optional<std::chrono::milliseconds> delay;  // of the pending retry
        Timer retry;                                     // pending retry; empty otherwise
    };
    std::map<std::string, Dial> dials_;  // endpoints we keep connected, by Endpoint::to_string()
    std::vector<uint64_t> closed_faces_;
    Deferred reap_;  // remove_closed_faces()
    std::function<void()> on_subscribers_changed_;
    Deferred subscribers_changed_;  // runs on_subscribers_changed_
    std::unique_ptr<Scouter> scouter_;
    std::shared_ptr<Publisher::Queue> publish_queue_;  // session_publisher.cpp
    void drain_publish_queue();
    void close_publish_queue();
    // Whether a link has more than kPublishHoldBytes unwritten (samples marked `wait` wait).
    [[nodiscard]] bool links_congested() const;
    Timer publish_retry_;  // drains the queue again while a `wait` sample waits
    int reading_holds_ = 0;
    std::map<uint64_t, Zid> scouted_;         // faces connected from a HELLO -> the ZID it named
    std::set<Zid, ZidLess> refused_scouted_;  // tls_only: HELLOs skipped (logged once each)
    struct QueryKey {
        uint64_t face;
        uint64_t id;
        friend auto operator<=>(const QueryKey&, const QueryKey&) = default;
    };
    std::map<QueryKey, QueryKey> forwarded_;  // (target face, our id) -> (origin face, id)
    std::map<QueryKey, size_t> outstanding_;  // (origin face, id) -> targets not finished
    uint64_t next_request_ = 1;
    std::map<uint32_t, Entity> queryables_;
    std::map<uint32_t, Entity> tokens_;
    std::map<uint32_t, LivelinessSubscriber> liveliness_subscribers_;
    std::map<uint64_t, PendingGet> gets_;                    // by our request id
    std::map<uint64_t, PendingLiveliness> liveliness_gets_;  // by our interest id
    // Interest ids we choose (liveliness); face ids (small) name our per-face peer interests.
    uint64_t next_interest_ = uint64_t{1} << 30;
    int routing_depth_ = 0;
    bool count_undelivered_ = true;  // false while putting an OutgoingSample that is not counted
    bool routes_stale_ = false;
    // Subscribers removed while route() runs, kept whole until it returns: one of their
    // callbacks may be the one running (a subscription destroyed from its own callback).
    std::vector<std::map<uint32_t, Subscriber>::node_type> retired_subscribers_;
    bool closing_ = false;
    // What Subscriptions point at; reset first when the session closes, so they become inert.
    std::shared_ptr<Subscription::Anchor> anchor_;
};

}  // namespace dora::zenoh
