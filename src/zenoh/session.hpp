// A Zenoh session in client, peer or router mode (docs/zenoh-protocol.md sections 5 and 9):
// listens and connects per ZenohConfig, keeps one face per transport with the keyexprs,
// subscribers and interests that face declared, delivers PUSHes to local subscribers, and forwards
// them to the faces whose subscribers match (only those; a client sends everything to its router,
// which filters). Interests are answered the way zenoh-pico expects: aggregated replies carry the
// interest's own key, every "current" reply ends with D_FINAL, and "future" interests get
// declarations and undeclarations as matches come and go.
//
// Mode rules: a router forwards between faces and answers interests with local and remote
// subscribers; a peer delivers locally, declares its subscribers to every face and answers
// interests with its local subscribers; a client declares its subscribers to its routers.
// Queries: a router forwards REQUESTs to faces whose queryables match and maps the RESPONSEs
// back; without a match (and in peer/client mode, which has no local queryables yet) the
// REQUEST gets RESPONSE_FINAL at once.
//
// Multicast scouting (only when config.multicast.enabled): routers and peers answer SCOUTs with
// a HELLO naming their listeners; a client without connect endpoints scouts until it has a
// router (or peer), a peer scouts for routers and peers and connects to each one it has no link
// with (between two of our peers, the one with the smaller ZID connects).
//
// Faces that open and close are logged (peer address, ZID, whatami) through the transport log.
//
// Subscriptions are handles (Subscription): destroying one undeclares it; one that outlives its
// session is inert.
//
// Threading contract: a Session belongs to one EventLoop; every method is called on the loop
// thread and callbacks run there. A sample callback may call put(), declare subscribers and
// destroy Subscriptions, its own included. Subscriptions are used on the loop thread. The one
// exception is Publisher (from publisher()): any thread may publish through it.
#pragma once

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
#include "zenoh/scouting.hpp"
#include "zenoh/tcp_link.hpp"
#include "zenoh/transport.hpp"

namespace dora::zenoh {

// One received sample; views valid only during the callback.
struct Sample {
    std::string_view key;
    const Put& put;
};
using SampleCallback = std::function<void(const Sample&)>;

// One sample handed to a Publisher by another thread. The views (key, payload, attachment) must
// stay valid until `release` runs.
struct OutgoingSample {
    std::string_view key;
    Bytes payload;
    std::optional<Bytes> attachment;
    // Runs exactly once: on the loop thread right after the sample was put (its bytes are then
    // copied into the link batches, or it was dropped for a link that does not read), or on the
    // publishing thread if the session is already gone. May be empty.
    std::function<void()> release;
};

class Session;

// A declared subscriber: move-only; destroying it (or undeclare()) undeclares the subscriber on
// the session and to its faces, after which its callback is never called again. Inert once the
// session is gone, and when default-constructed.
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
    Subscription(std::weak_ptr<Anchor> session, uint32_t id)
        : session_(std::move(session)), id_(id) {}
    std::weak_ptr<Anchor> session_;
    uint32_t id_ = 0;
};

// A thread-safe handle for publishing from threads other than the loop thread. publish() hands
// over a whole batch with one lock and at most one wake-up of the loop: while the loop has not
// drained earlier batches, new ones are appended to the same hand-over. The loop puts the samples
// in order (the same rules as Session::put: local subscribers, matching faces, drops counted for
// faces that do not read), then runs each release.
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
    std::chrono::milliseconds reconnect_delay{1000};
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
    // Bytes queued on all links and not yet written.
    [[nodiscard]] size_t pending_bytes() const;
    // A handle through which other threads publish (loop thread to create; see Publisher).
    [[nodiscard]] Publisher publisher();
    // Connects to one more endpoint (and reconnects to it whenever the link drops).
    void connect_to(const Endpoint& endpoint) { connect(endpoint); }

    [[nodiscard]] const Zid& zid() const { return options_.transport.zid; }
    [[nodiscard]] Mode mode() const { return options_.config.mode; }
    // Ports the listeners got (useful with port 0).
    [[nodiscard]] std::vector<uint16_t> listen_ports() const;
    // Established faces.
    [[nodiscard]] size_t face_count() const;
    // Whether a subscriber of another face (a peer's, or one a router told us of) matches `key`
    // on an established link. In client mode: whether a router link is up (a client sends every
    // put to its router, which filters; routers do not declare subscribers to clients).
    [[nodiscard]] bool has_remote_subscriber(std::string_view key) const;

    void on_established(Transport& transport) override;
    void on_message(Transport& transport, const NetworkMessage& message, Reliability reliability,
                    Bytes raw) override;
    void on_closed(Transport& transport, const Error& reason) override;

  private:
    friend class Publisher;
    friend class Subscription;
    struct FaceInterest {
        uint8_t options = 0;
        std::optional<std::string> key;  // nullopt: every key
        bool aggregate = false;
        uint64_t aggregate_id = 0;  // entity id of the aggregated declaration
        bool aggregate_declared = false;
        std::set<uint32_t> declared;  // subscriber tokens declared (non-aggregate)
    };
    struct Face {
        uint64_t id = 0;
        std::unique_ptr<Transport> transport;
        std::optional<Endpoint> reconnect;  // set for faces we connected
        std::unordered_map<uint64_t, std::string> keyexprs;
        std::unordered_map<uint64_t, uint32_t> subscribers;  // their entity id -> token
        std::unordered_map<uint64_t, FaceInterest> interests;
        std::unordered_map<uint64_t, std::string> queryables;  // their entity id -> key
        uint64_t dropped = 0;  // samples not sent because the face does not read
    };
    struct Subscriber {
        std::string key;
        uint64_t face = 0;  // 0: local
        SampleCallback callback;
    };

    Session(EventLoop& loop, SessionOptions options);
    [[nodiscard]] Result<> start();
    void connect(const Endpoint& endpoint);
    void accept(sys::UniqueFd fd);
    void log(std::string_view line) const;
    Face* face_of(Transport& transport);

    // Key resolution for what a face sent: its own table (sender mapping) or ours (none).
    [[nodiscard]] Result<std::string_view> resolve(Face& face, const WireExpr& key);

    void add_face(std::unique_ptr<Transport> transport, std::optional<Endpoint> reconnect);
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
    void schedule_reconnect(const Endpoint& endpoint);
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
    void send_push(Face& face, std::string_view key, const Push& push);

    // Subscribers (session_interest.cpp holds the interest side).
    void undeclare_subscriber(uint32_t id);
    uint32_t add_subscriber(std::string key, uint64_t face, SampleCallback cb);
    void remove_subscriber(uint32_t token);
    void declare_local_subscribers(Face& face);
    void on_interest(Face& face, const Interest& interest);
    void update_interests(uint32_t token, bool added);
    bool visible_to(const Subscriber& sub, const Face& face) const;
    void send_declaration(Face& face, std::optional<uint64_t> interest_id, DeclKind kind,
                          uint64_t id, std::optional<std::string_view> key);

    // Who gets a key: local subscriber tokens and faces with a matching subscriber. Cached per
    // key so routing a PUSH allocates nothing once its key was seen; cleared on any change.
    struct Route {
        std::vector<uint32_t> local;
        std::vector<uint64_t> faces;
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
    std::vector<std::unique_ptr<TcpListener>> listeners_;
    std::map<uint64_t, Face> faces_;
    std::unordered_map<Transport*, uint64_t> face_ids_;
    uint64_t next_face_ = 1;
    std::map<uint32_t, Subscriber> subscribers_;
    uint32_t next_token_ = 1;
    uint64_t next_aggregate_ = uint64_t{1} << 31;
    std::string key_buffer_;
    std::map<uint64_t, Timer> reconnects_;  // pending reconnect attempts; each removes itself
    uint64_t next_reconnect_ = 1;
    std::vector<uint64_t> closed_faces_;
    Deferred reap_;  // remove_closed_faces()
    std::unique_ptr<Scouter> scouter_;
    std::shared_ptr<Publisher::Queue> publish_queue_;  // session_publisher.cpp
    void drain_publish_queue();
    void close_publish_queue();
    std::map<uint64_t, Zid> scouted_;  // faces connected from a HELLO -> the ZID it named
    struct QueryKey {
        uint64_t face;
        uint64_t id;
        friend auto operator<=>(const QueryKey&, const QueryKey&) = default;
    };
    std::map<QueryKey, QueryKey> forwarded_;  // (target face, our id) -> (origin face, id)
    std::map<QueryKey, size_t> outstanding_;  // (origin face, id) -> targets not finished
    uint64_t next_request_ = 1;
    int routing_depth_ = 0;
    bool routes_stale_ = false;
    // Subscribers removed while route() runs, kept whole until it returns: one of their
    // callbacks may be the one running (a subscription destroyed from its own callback).
    std::vector<std::map<uint32_t, Subscriber>::node_type> retired_subscribers_;
    bool closing_ = false;
    // What Subscriptions point at; reset first when the session closes, so they become inert.
    std::shared_ptr<Subscription::Anchor> anchor_;
};

}  // namespace dora::zenoh
