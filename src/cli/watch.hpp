// Watching a running dataflow from the CLI (`dora topic`, `dora record`): the coordinator
// describes the dataflow (its descriptor, where its nodes run, the daemons' Zenoh endpoints), and
// a Zenoh session of the CLI links to every daemon and subscribes to the selected outputs' keys
// (`dora/{network}/{dataflow}/output/{node}/{output}`). The subscription is what makes the owning
// daemon publish an output that no other machine consumes (zero-cost watching, see
// daemon/zenoh_bridge.hpp); when the CLI exits, its links close and the daemons stop publishing.
// The user types no endpoint: with ZENOH_CONFIG set (daemons behind a router, client mode) that
// configuration is used instead of the daemons' endpoints.
//
// Errors are thrown as dora::Exception (this is the CLI edge).
//
// Thread safety: one thread (the CLI's), the Watch's loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/coordinator_client.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/descriptor.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/metadata.hpp"

namespace dora::cli {

// One output of the dataflow.
struct Topic {
    std::string node;
    std::string output;
    std::string machine;                   // "" = the default daemon
    std::string key;                       // its Zenoh key
    std::vector<std::string> subscribers;  // "node/input" of the nodes that consume it
    [[nodiscard]] std::string name() const { return node + "/" + output; }
};

struct WatchedDataflow {
    message::DataflowDescription description;
    Descriptor descriptor;
    std::vector<Topic> topics;                // every output, in the descriptor's order
    ClientOptions client;                     // the coordinator asked (and asked for certificates)
    [[nodiscard]] std::string label() const;  // "name (uuid)" or the uuid
};

// Asks the coordinator about running dataflow `dataflow` (uuid or name; "" = the only one).
[[nodiscard]] WatchedDataflow describe_dataflow(const ClientOptions& client,
                                                const std::string& dataflow);

// The topics `selections` ("node/output"; empty = every output) name, in that order. An unknown
// one is an error that lists the dataflow's outputs.
[[nodiscard]] std::vector<const Topic*> select_topics(const WatchedDataflow& dataflow,
                                                      const std::vector<std::string>& selections);

// `dora topic echo DATAFLOW TOPIC...` and the like take the dataflow first, or with
// -d/--dataflow; with one dataflow running it may be left out when the first positional is a
// topic (contains '/'). Splits `positionals` accordingly.
void split_dataflow_and_topics(std::string& dataflow, std::vector<std::string>& positionals);

// One message (or end of stream) of a watched topic; views valid during the callback.
struct Arrival {
    const Topic& topic;
    std::chrono::system_clock::time_point received;
    // Decoded metadata; nullopt for the end-of-stream marker or when it does not decode
    // (`error` says why).
    std::optional<message::Metadata> metadata;
    std::span<const std::byte> data;
    bool end_of_stream = false;
    std::string error;
};

// "512 B", "1.5 KiB", "3.2 MiB": sizes in progress lines and statistics.
[[nodiscard]] std::string byte_size_text(double bytes);

class Watch {
  public:
    // Links to the daemons and subscribes to `topics` (pointers into `dataflow`, which must
    // outlive the Watch). Throws when no daemon can be reached.
    [[nodiscard]] static std::unique_ptr<Watch> open(
        const WatchedDataflow& dataflow, std::vector<const Topic*> topics,
        std::function<void(const Arrival&)> on_arrival);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    [[nodiscard]] EventLoop& loop() { return *runtime_.loop; }
    // Runs until stop(), a signal (true), or `limit` (zero: none).
    bool run(std::chrono::milliseconds limit);
    void stop() { runtime_.loop->stop(); }
    // Links to daemons established now.
    [[nodiscard]] size_t links() const { return runtime_.session->face_count(); }

  private:
    Watch() = default;
    ZenohRuntime runtime_;
    std::vector<zenoh::Subscription> subscriptions_;
};

}  // namespace dora::cli
