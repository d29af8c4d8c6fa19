// Remote routing: moves dataflow messages between this daemon's shared memory and other
// machines over Zenoh (DESIGN section 4, "Between machines").
//
// One Zenoh session per daemon runs on its own "network thread" (an EventLoop that leaves signals
// to the daemon's loop). For each attached dataflow:
//  - egress: a thread waits on the dataflow's egress region (the rings that local producers
//    push to for remote consumers), reads each sample in place and hands batches to the network
//    thread, which publishes them on `dora/{network}/{dataflow}/output/{node}/{output}` with the
//    data as payload and the encoded metadata as attachment, then releases the samples. When a
//    producer's ring closes (the node exited), an end marker (a PUT whose attachment is the one
//    byte 0xFE) follows its last message.
//  - ingress: subscriptions on the keys of remote producers; each arrival is written into a
//    sample of the dataflow's ingress pool and pushed to every local receiver's ring; an end
//    marker closes those rings (the receivers get INPUT_CLOSED).
// A daemon publishes only outputs that someone on another machine consumes.
//
// Thread safety: attach()/detach()/set_peers() are called from the daemon's loop thread; they
// run their Zenoh work on the network thread and wait for it. Ingress writes happen on the
// network thread, egress reads on the egress threads; each ring has exactly one producer.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "daemon/local_dataflow.hpp"
#include "message/common.hpp"
#include "zenoh/config.hpp"
#include "zenoh/session.hpp"

namespace dora::daemon {

inline constexpr uint8_t kEndOfStreamMarker = 0xfe;

struct ZenohBridgeOptions {
    std::string machine_id;
    // From ZENOH_CONFIG when set; else peer mode listening on tcp/0.0.0.0:0, multicast off.
    zenoh::ZenohConfig config;
    // The address other daemons reach this machine at (advertised with the listen port).
    std::string advertised_host = "127.0.0.1";
};

class ZenohBridge {
  public:
    [[nodiscard]] static Result<std::unique_ptr<ZenohBridge>> start(ZenohBridgeOptions options);
    ~ZenohBridge();
    ZenohBridge(const ZenohBridge&) = delete;
    ZenohBridge& operator=(const ZenohBridge&) = delete;

    // Where other daemons connect to this one ("tcp/host:port"); empty in client mode.
    [[nodiscard]] std::vector<std::string> endpoints() const { return endpoints_; }
    // Connects to the peers this daemon is responsible for connecting to (those whose machine id
    // sorts before its own: each pair connects once). No-op in client mode (the router connects).
    void set_peers(const std::vector<message::DaemonInfo>& peers);

    // Starts routing for a prepared dataflow (before its nodes are spawned).
    [[nodiscard]] Result<> attach(LocalDataflow& dataflow);
    // Whether every output this machine publishes for the dataflow has a subscriber on another
    // machine yet (declarations travel asynchronously after the peers connect).
    [[nodiscard]] bool remote_subscribers_ready(const LocalDataflow& dataflow);
    // Stops routing for it; call before destroying the LocalDataflow.
    void detach(const std::string& dataflow_id);

  private:
    struct Route;
    explicit ZenohBridge(ZenohBridgeOptions options);
    // Runs `fn` on the network thread and waits for it.
    void run_on_network(const std::function<void()>& fn);
    void egress_loop(Route* route);

    ZenohBridgeOptions options_;
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<zenoh::Session> session_;
    std::thread network_;
    std::vector<std::string> endpoints_;
    std::vector<std::string> connected_;  // peer endpoints we connected to (network thread)
    std::map<std::string, std::unique_ptr<Route>> routes_;  // by dataflow id (daemon thread)
};

}  // namespace dora::daemon
