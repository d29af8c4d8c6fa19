#include "message/node_config.hpp"

#include <nlohmann/json.hpp>

namespace dora::message {

using nlohmann::json;

std::string to_json(const NodeConfig& c) {
    json j;
    j["version"] = c.version;
    j["dataflow_id"] = c.dataflow_id;
    j["node_id"] = c.node_id;
    j["machine_id"] = c.machine_id;
    j["region"] = c.region;
    j["inputs"] = json::array();
    for (const auto& i : c.inputs) {
        j["inputs"].push_back({{"id", i.id}, {"ring", i.ring}});
    }
    j["outputs"] = json::array();
    for (const auto& o : c.outputs) {
        json targets = json::array();
        for (const auto& t : o.targets) {
            targets.push_back({{"region", t.region}, {"ring", t.ring}});
        }
        json out{{"id", o.id}, {"targets", targets}};
        if (o.remote_max_message_size != 0) {
            out["remote_max_message_size"] = o.remote_max_message_size;
            out["remote_envelope"] = o.remote_envelope;
        }
        j["outputs"].push_back(std::move(out));
    }
    j["sender_index"] = c.sender_index;
    j["generation"] = c.generation;
    j["pool_prefix"] = c.pool_prefix;
    j["senders"] = json::array();
    for (const auto& s : c.senders) {
        j["senders"].push_back({{"index", s.index}, {"prefix", s.prefix}});
    }
    j["descriptor_path"] = c.descriptor_path;
    j["spin_ns"] = c.spin_ns;
    if (c.pool_class_limit != 0) {
        j["pool_class_limit"] = c.pool_class_limit;
    }
    return j.dump();
}

Result<NodeConfig> parse_node_config(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return fail("{} is not valid JSON", kNodeConfigEnv);
    }
    try {
        NodeConfig c;
        c.version = j.at("version").get<int>();
        if (c.version != kNodeConfigVersion) {
            return fail(
                "{} has version {}, this dora node library understands version {}: the "
                "node was built against a different dora than its daemon",
                kNodeConfigEnv, c.version, kNodeConfigVersion);
        }
        c.dataflow_id = j.at("dataflow_id").get<std::string>();
        c.node_id = j.at("node_id").get<std::string>();
        c.machine_id = j.value("machine_id", "");
        c.region = j.at("region").get<std::string>();
        for (const auto& i : j.at("inputs")) {
            c.inputs.push_back({i.at("id").get<std::string>(), i.at("ring").get<uint32_t>()});
        }
        for (const auto& o : j.at("outputs")) {
            NodeOutputConfig out{o.at("id").get<std::string>(), {}};
            out.remote_max_message_size = o.value("remote_max_message_size", uint64_t{0});
            out.remote_envelope = o.value("remote_envelope", uint64_t{0});
            for (const auto& t : o.at("targets")) {
                out.targets.push_back(
                    {t.at("region").get<std::string>(), t.at("ring").get<uint32_t>()});
            }
            c.outputs.push_back(std::move(out));
        }
        c.sender_index = j.at("sender_index").get<uint16_t>();
        c.generation = j.at("generation").get<uint16_t>();
        c.pool_prefix = j.at("pool_prefix").get<std::string>();
        for (const auto& s : j.at("senders")) {
            c.senders.push_back({s.at("index").get<uint16_t>(), s.at("prefix").get<std::string>()});
        }
        c.descriptor_path = j.value("descriptor_path", "");
        c.spin_ns = j.value("spin_ns", int64_t{50'000});
        c.pool_class_limit = j.value("pool_class_limit", uint32_t{0});
        return c;
    } catch (const json::exception& e) {
        return fail("{} is incomplete or malformed: {}", kNodeConfigEnv, e.what());
    }
}

}  // namespace dora::message
