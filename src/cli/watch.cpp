#include "cli/watch.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "cli/cluster_tls.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/data_keys.hpp"

namespace dora::cli {

namespace {

constexpr auto kDescribeTimeout = std::chrono::seconds(10);

std::string machine_of(const message::DataflowDescription& d, const std::string& node) {
    for (const auto& [machine, nodes] : d.nodes_per_machine) {
        if (std::find(nodes.begin(), nodes.end(), node) != nodes.end()) {
            return machine;
        }
    }
    return "";
}

std::vector<Topic> topics_of(const message::DataflowDescription& d, const Descriptor& descriptor) {
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> subscribers;
    for (const auto& node : descriptor.nodes) {
        for (const auto& input : node.inputs) {
            if (const auto* src = std::get_if<NodeOutputSource>(&input.source)) {
                subscribers[{src->node, src->output}].push_back(node.id + "/" + input.id);
            }
        }
    }
    std::vector<Topic> out;
    for (const auto& node : descriptor.nodes) {
        for (const auto& output : node.outputs) {
            Topic t;
            t.node = node.id;
            t.output = output;
            t.machine = machine_of(d, node.id);
            t.key = message::output_key(d.network_id, d.dataflow_id, node.id, output);
            t.subscribers = subscribers[{node.id, output}];
            out.push_back(std::move(t));
        }
    }
    return out;
}

zenoh::ZenohConfig watcher_config(const WatchedDataflow& dataflow) {
    if (const char* file = std::getenv("ZENOH_CONFIG"); file != nullptr && *file != '\0') {
        auto config = zenoh::load_config(file);
        if (!config) {
            throw Exception(config.error().context("ZENOH_CONFIG"));
        }
        config->listen.clear();  // a watcher listens nowhere
        use_cluster_certificate(*config, dataflow.client, "watching the dataflow");
        return *config;
    }
    zenoh::ZenohConfig config;
    config.mode = zenoh::Mode::kPeer;
    config.multicast.enabled = false;
    std::string unreachable;
    for (const auto& daemon : dataflow.description.daemons) {
        if (!daemon.connected) {
            continue;
        }
        for (const auto& text : daemon.zenoh_endpoints) {
            if (auto endpoint = zenoh::parse_endpoint(text)) {
                config.connect.push_back(*endpoint);
            }
        }
    }
    if (config.connect.empty()) {
        throw Exception(Error::make(
            "{}",
            "no daemon of the cluster has a Zenoh endpoint to watch through (are the daemons in "
            "client mode behind a router? then set ZENOH_CONFIG to a client configuration that "
            "connects to that router, as the daemons have)"));
    }
    use_cluster_certificate(config, dataflow.client, "watching the dataflow");
    return config;
}

}  // namespace

std::string byte_size_text(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        ++u;
    }
    return fmt::format("{:.{}f} {}", bytes, u == 0 ? 0 : 1, units[u]);
}

std::string WatchedDataflow::label() const {
    return description.name.empty()
               ? description.dataflow_id
               : fmt::format("{} ({})", description.name, description.dataflow_id);
}

WatchedDataflow describe_dataflow(const ClientOptions& client, const std::string& dataflow) {
    auto connection = connect_or_throw(client);
    WatchedDataflow out;
    out.client = client;
    out.description = or_throw(connection.request<message::DataflowDescription>(
        message::CliDescribe{dataflow}, kDescribeTimeout));
    auto descriptor = parse_descriptor(
        out.description.descriptor_yaml,
        out.description.descriptor_path.empty() ? "dataflow.yml" : out.description.descriptor_path);
    if (!descriptor) {
        throw Exception(descriptor.error().context(
            fmt::format("reading the descriptor of dataflow {}", out.description.dataflow_id)));
    }
    out.descriptor = std::move(*descriptor);
    out.topics = topics_of(out.description, out.descriptor);
    return out;
}

std::vector<const Topic*> select_topics(const WatchedDataflow& dataflow,
                                        const std::vector<std::string>& selections) {
    std::vector<const Topic*> out;
    if (selections.empty()) {
        for (const auto& t : dataflow.topics) {
            out.push_back(&t);
        }
        if (out.empty()) {
            throw Exception(Error::make("dataflow {} has no outputs", dataflow.label()));
        }
        return out;
    }
    for (const auto& selection : selections) {
        auto it = std::find_if(dataflow.topics.begin(), dataflow.topics.end(),
                               [&](const Topic& t) { return t.name() == selection; });
        if (it == dataflow.topics.end()) {
            std::string names;
            for (const auto& t : dataflow.topics) {
                names += "\n  " + t.name();
            }
            throw Exception(Error::make(
                "dataflow {} has no output `{}` (write NODE/OUTPUT); its outputs are:{}",
                dataflow.label(), selection, names.empty() ? " none" : names));
        }
        if (std::find(out.begin(), out.end(), &*it) == out.end()) {
            out.push_back(&*it);
        }
    }
    return out;
}

void split_dataflow_and_topics(std::string& dataflow, std::vector<std::string>& positionals) {
    if (dataflow.empty() && !positionals.empty() &&
        positionals.front().find('/') == std::string::npos) {
        dataflow = positionals.front();
        positionals.erase(positionals.begin());
    }
}

std::unique_ptr<Watch> Watch::open(const WatchedDataflow& dataflow,
                                   std::vector<const Topic*> topics,
                                   std::function<void(const Arrival&)> on_arrival) {
    std::unique_ptr<Watch> watch(new Watch());
    watch->runtime_ = open_zenoh(watcher_config(dataflow), false, false);
    auto callback = std::make_shared<std::function<void(const Arrival&)>>(std::move(on_arrival));
    for (const Topic* topic : topics) {
        auto subscription = watch->runtime_.session->declare_subscriber(
            topic->key, [topic, callback](const zenoh::Sample& sample) {
                Arrival arrival{*topic, std::chrono::system_clock::now(), std::nullopt, {}, false,
                                ""};
                const auto& put = sample.put;
                arrival.data = std::as_bytes(put.payload);
                if (put.attachment && message::looks_like_end_of_stream(*put.attachment)) {
                    arrival.end_of_stream = true;
                } else if (!put.attachment) {
                    arrival.error = "a sample without dora metadata (not from a dora daemon?)";
                } else if (auto metadata = message::decode(std::as_bytes(*put.attachment))) {
                    arrival.metadata = std::move(*metadata);
                } else {
                    arrival.error = "its metadata does not decode: " + metadata.error().message();
                }
                (*callback)(arrival);
            });
        if (!subscription) {
            throw Exception(subscription.error().context("subscribing to " + topic->name()));
        }
        watch->subscriptions_.push_back(std::move(*subscription));
    }
    return watch;
}

Watch::~Watch() {
    subscriptions_.clear();
    runtime_.session.reset();
}

bool Watch::run(std::chrono::milliseconds limit) { return run_zenoh_loop(*runtime_.loop, limit); }

}  // namespace dora::cli
