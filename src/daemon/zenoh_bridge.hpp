// Remote routing: the daemon's Zenoh session and, per dataflow, its Egress (outputs consumed on
// other machines) and Ingress (outputs of other machines consumed here); see egress.hpp and
// ingress.hpp. The session runs on the daemon's own event loop, so attaching, detaching and
// asking whether remote subscribers are there are plain calls: no thread waits for another. The
// only thread hand-over is each egress thread publishing through the session's Publisher.
//
// Peers: the coordinator tells every daemon where the others' sessions listen (set_peers); of
// each pair, the daemon whose machine id sorts later dials (each pair connects once), backing off
// while it fails; a peer the coordinator lists as disconnected, or no longer lists, is not dialled
// again, and a peer that re-registers at a new address is dialled there. In client
// mode (ZENOH_CONFIG) the router is dialled instead and set_peers does nothing.
//
// Zero-cost watching: an output no other machine consumes has a watcher-only egress stream
// (DataflowPlan) whose ring stays unwatched (its producer skips it) until a subscriber of another
// session (`dora topic`, `dora record`, any Zenoh subscriber of the cluster) matches its key; the
// session says when the remote subscribers change, and the ring is switched on and off again.
//
// Drops: the bridge counts what leaves this machine per egress stream (the producer's output):
// samples the egress could not hand over (place egress) and copies the session could not send
// (place link: no subscriber any more, a link down or not reading); the Ingress counts what
// arrives and cannot be stored (place ingress). While a count grows, the producer's (or
// receiver's) log gets a line once a second saying so, why, and what to do.
//
// Thread safety: the daemon's loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "daemon/certificate_keeper.hpp"
#include "daemon/egress.hpp"
#include "daemon/ingress.hpp"
#include "daemon/local_dataflow.hpp"
#include "message/common.hpp"
#include "zenoh/config.hpp"
#include "zenoh/session.hpp"

namespace dora::daemon {

struct ZenohBridgeOptions {
    std::string machine_id;
    // From ZENOH_CONFIG when set; else peer mode listening on tcp/0.0.0.0:0, multicast off.
    zenoh::ZenohConfig config;
    // The address other daemons reach this machine at (advertised with the listen port).
    std::string advertised_host = "127.0.0.1";
    EgressLimits egress_limits;
    // With a cluster token: every link is TLS with mutual authentication under the cluster CA,
    // with the daemon's certificate (set_credentials()); tls/ links wait until it has one. A
    // config that gives transport.link.tls keys of its own uses them instead (the user's CA);
    // tcp/ and udp/ endpoints are refused (they would carry the dataflow's data in clear).
    bool cluster_tls = false;
    // The daemon's own log (a watcher came or went); nothing when empty.
    std::function<void(const std::string&)> log;
};

// The Zenoh TLS settings of a holder of `credentials`: listen and connect with its certificate,
// mutual TLS, the peer's name verified, the cluster CA trusted alone.
[[nodiscard]] zenoh::TlsKeys cluster_tls_keys(const Credentials& credentials);

class ZenohBridge {
  public:
    [[nodiscard]] static Result<std::unique_ptr<ZenohBridge>> start(EventLoop& loop,
                                                                    ZenohBridgeOptions options);
    ~ZenohBridge();
    ZenohBridge(const ZenohBridge&) = delete;
    ZenohBridge& operator=(const ZenohBridge&) = delete;

    // Where other daemons connect to this one ("tcp/host:port", "tls/host:port"); empty in
    // client mode.
    [[nodiscard]] const std::vector<std::string>& endpoints() const { return endpoints_; }
    void set_peers(const std::vector<message::DaemonInfo>& peers);
    // The daemon's certificate of the cluster CA, first or renewed (ZenohBridgeOptions::
    // cluster_tls): new links use it, links up keep theirs. Nothing without cluster_tls.
    [[nodiscard]] Result<> set_credentials(const Credentials& credentials);
    // Whether tls/ links still wait for the daemon's certificate.
    [[nodiscard]] bool waiting_for_credentials() const { return session_->tls_waiting(); }
    // The peer endpoints this daemon dials now (set_peers' choice), sorted.
    [[nodiscard]] std::vector<std::string> dialled() const;

    // Starts routing for a prepared dataflow (before its nodes are spawned). `note` writes a line
    // to a node's log (what the ingress could not deliver).
    [[nodiscard]] Result<> attach(LocalDataflow& dataflow, Ingress::Note note);
    // Whether every output this machine publishes for nodes of other machines has a subscriber
    // there yet (declarations travel asynchronously after the peers connect); outputs published
    // only for inspection (debug inspection) wait for nobody.
    [[nodiscard]] bool remote_subscribers_ready(const LocalDataflow& dataflow) const;
    // Runs `changed` (on the loop thread, outside any bridge call) whenever what
    // remote_subscribers_ready() and has_remote_subscriber() answer may have changed. Replaces
    // the previous one.
    void on_remote_subscribers_changed(std::function<void()> changed) {
        subscribers_changed_ = std::move(changed);
    }
    // Whether a subscriber on another session (a daemon or a watcher) matches `key`.
    [[nodiscard]] bool has_remote_subscriber(std::string_view key) const {
        return session_->has_remote_subscriber(key);
    }
    // The producers of `dataflow_id` on `machine` are gone for good (the coordinator says so):
    // local consumers' inputs from them close (INPUT_CLOSED).
    void close_inputs_from(const std::string& dataflow_id, const std::vector<std::string>& nodes,
                           const std::string& reason);
    // What routing dropped for the dataflow so far (egress, link, ingress); nonzero counts.
    [[nodiscard]] std::vector<message::DropCount> drops(const std::string& dataflow_id) const;
    // Stops routing for it (the egress sends what its producers left and the end markers first);
    // call before destroying the LocalDataflow. Returns its final drops(), as they stood.
    std::vector<message::DropCount> detach(const std::string& dataflow_id);
    // Zero-cost watching: the outputs of `dataflow_id` published only for watchers that are
    // published now (a subscriber on another session matches their key), and how many times any
    // such output started being published since this bridge started.
    [[nodiscard]] size_t watched_streams(const std::string& dataflow_id) const;
    [[nodiscard]] uint64_t watch_starts() const { return watch_starts_; }
    // Samples handed to the session and not yet put, plus bytes not yet written to its links:
    // zero once everything published so far has left this process.
    [[nodiscard]] size_t unpublished() const;

  private:
    struct Route {
        LocalDataflow* dataflow = nullptr;
        Ingress::Note note;
        std::unique_ptr<Ingress> ingress;
        std::unique_ptr<Egress> egress;
        std::vector<uint64_t> reported_egress;  // per egress stream: counts already reported
        std::vector<uint64_t> reported_link;
        Timer report;
        // One liveliness token per local producer that nodes on other machines consume
        // (DataflowPlan::liveliness_key), undeclared when the route goes.
        std::vector<zenoh::Subscription> tokens;
    };
    ZenohBridge(EventLoop& loop, ZenohBridgeOptions options);
    void report_drops(Route& route);
    // Switches the route's watcher-only egress rings on while a remote subscriber matches them.
    void update_watching(Route& route);

    EventLoop& loop_;
    ZenohBridgeOptions options_;
    std::unique_ptr<zenoh::Session> session_;
    std::vector<std::string> endpoints_;
    std::map<std::string, zenoh::Endpoint> dialled_;  // peer endpoints we dial, by text
    std::map<std::string, Route> routes_;             // by dataflow id
    uint64_t watch_starts_ = 0;
    std::function<void()> subscribers_changed_;  // on_remote_subscribers_changed
    // Liveliness tokens of detached routes kept while the Publisher still holds samples (a
    // backpressure stream's last ones wait for a slow link): undeclared before them, they would
    // overtake them and tell the receivers their producer was lost.
    std::vector<zenoh::Subscription> retiring_tokens_;
    Timer retire_;
};

}  // namespace dora::daemon
