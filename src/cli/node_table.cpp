#include "cli/node_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace dora::cli {

namespace {

std::string machine_text(const std::string& machine) {
    return machine.empty() ? "(default)" : machine;
}

// dora 1.x's status words (Running, Restarting, ...), for its JSON field.
std::string dora_status(const std::string& status) {
    std::string word = status;
    if (!word.empty()) {
        word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    }
    return word;
}

struct Column {
    const char* name;
    bool right;  // numbers are right-aligned
};

std::vector<Column> columns(bool with_rates, bool with_dataflow) {
    std::vector<Column> out = {{"NODE", false},   {"MACHINE", false}, {"PID", true},
                               {"STATUS", false}, {"RESTARTS", true}, {"CPU%", true},
                               {"RSS", true},     {"DROPPED", true}};
    if (with_rates) out.push_back({"MSG/S", true});
    if (with_dataflow) out.push_back({"DATAFLOW", false});
    return out;
}

// The cells of one row, in column order.
std::vector<std::string> cells(const NodeRow& row, const Rates* rates, bool with_dataflow) {
    const auto& n = row.node;
    std::vector<std::string> out = {
        n.node_id,
        machine_text(n.machine_id),
        n.pid > 0 ? std::to_string(n.pid) : "-",
        status_text(n),
        std::to_string(n.restarts),
        n.measured ? fmt::format("{:.1f}", n.cpu_percent) : "-",
        n.measured ? memory_text(n.rss_bytes) : "-",
        std::to_string(n.dropped),
    };
    if (rates != nullptr) {
        auto rate = rates->find(rate_key(row));
        out.push_back(rate == rates->end() ? "-" : fmt::format("{:.1f}", rate->second));
    }
    if (with_dataflow) {
        out.push_back(row.dataflow_name.empty() ? row.dataflow_id : row.dataflow_name);
    }
    return out;
}

uint64_t received_sum(const message::NodeStats& node) {
    uint64_t sum = 0;
    for (const auto& input : node.inputs) sum += input.received;
    return sum;
}

}  // namespace

std::vector<NodeRow> rows_of(const message::NodeStatsReply& reply) {
    std::vector<NodeRow> rows;
    for (const auto& dataflow : reply.dataflows) {
        for (const auto& node : dataflow.nodes) {
            rows.push_back({dataflow.id, dataflow.name, node});
        }
    }
    return rows;
}

const char* sort_key_name(SortKey key) {
    switch (key) {
        case SortKey::kName:
            return "NODE";
        case SortKey::kCpu:
            return "CPU%";
        case SortKey::kMemory:
            return "RSS";
        case SortKey::kDrops:
            return "DROPPED";
    }
    return "?";
}

void sort_rows(std::vector<NodeRow>& rows, SortKey key, bool descending) {
    auto less = [key](const NodeRow& a, const NodeRow& b) {
        switch (key) {
            case SortKey::kName:
                return a.node.node_id < b.node.node_id;
            case SortKey::kCpu:
                return a.node.cpu_percent < b.node.cpu_percent;
            case SortKey::kMemory:
                return a.node.rss_bytes < b.node.rss_bytes;
            case SortKey::kDrops:
                return a.node.dropped < b.node.dropped;
        }
        return false;
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const NodeRow& a, const NodeRow& b) {
        return descending ? less(b, a) : less(a, b);
    });
}

std::string status_text(const message::NodeStats& node) {
    const bool ended =
        node.status == message::kNodeExited || node.status == message::kNodeRestarting;
    if (!ended || node.exit_status.empty()) {
        return node.status;
    }
    if (node.exit_code >= 0) {
        return fmt::format("{} (code {})", node.status, node.exit_code);
    }
    return fmt::format("{}: {}", node.status, node.exit_status);
}

std::string memory_text(uint64_t bytes) {
    const auto value = static_cast<double>(bytes);
    if (bytes < (uint64_t{1} << 20)) {
        return fmt::format("{} KiB", bytes >> 10);
    }
    if (bytes < (uint64_t{1} << 30)) {
        return fmt::format("{:.1f} MiB", value / (1 << 20));
    }
    return fmt::format("{:.1f} GiB", value / (1 << 30));
}

std::string rate_key(const NodeRow& row) { return row.dataflow_id + "/" + row.node.node_id; }

Rates input_rates(const std::vector<NodeRow>& before, const std::vector<NodeRow>& now) {
    std::map<std::string, const message::NodeStats*> earlier;
    for (const auto& row : before) earlier[rate_key(row)] = &row.node;
    Rates rates;
    for (const auto& row : now) {
        auto then = earlier.find(rate_key(row));
        if (then == earlier.end() || row.node.sampled_ns <= then->second->sampled_ns) {
            continue;
        }
        const uint64_t was = received_sum(*then->second);
        const uint64_t is = received_sum(row.node);
        if (is < was) {
            continue;
        }
        const double seconds =
            static_cast<double>(row.node.sampled_ns - then->second->sampled_ns) / 1e9;
        rates[rate_key(row)] = static_cast<double>(is - was) / seconds;
    }
    return rates;
}

std::vector<std::string> table_lines(const std::vector<NodeRow>& rows, bool with_dataflow,
                                     const Rates* rates) {
    const auto header = columns(rates != nullptr, with_dataflow);
    std::vector<std::vector<std::string>> grid(1);
    for (const auto& column : header) grid[0].push_back(column.name);
    for (const auto& row : rows) {
        grid.push_back(cells(row, rates, with_dataflow));
    }
    std::vector<size_t> width(header.size(), 0);
    for (const auto& line : grid) {
        for (size_t c = 0; c < header.size(); ++c) width[c] = std::max(width[c], line[c].size());
    }
    std::vector<std::string> out;
    for (const auto& line : grid) {
        std::string text;
        for (size_t c = 0; c < header.size(); ++c) {
            const bool last = c + 1 == header.size();
            if (header[c].right) {
                text += fmt::format("{:>{}}", line[c], width[c]);
            } else {
                text += last ? line[c] : fmt::format("{:<{}}", line[c], width[c]);
            }
            text += last ? "" : "  ";
        }
        out.push_back(text + "\n");
    }
    return out;
}

nlohmann::json json_of(const NodeRow& row, bool with_dataflow) {
    const auto& n = row.node;
    nlohmann::json j = {
        {"node", n.node_id},
        {"status", dora_status(n.status)},
        {"pid", n.pid > 0 ? std::to_string(n.pid) : "-"},
        {"cpu", n.measured ? fmt::format("{:.1f}%", n.cpu_percent) : "-"},
        {"memory",
         n.measured ? fmt::format("{:.0f} MB", static_cast<double>(n.rss_bytes) / 1e6) : "-"},
        {"restarts", std::to_string(n.restarts)},
    };
    if (with_dataflow) {
        j["dataflow"] = row.dataflow_name.empty() ? row.dataflow_id : row.dataflow_name;
    }
    j["dataflow_id"] = row.dataflow_id;
    j["machine"] = n.machine_id;
    j["state"] = n.status;
    j["process_id"] = n.pid;
    j["measured"] = n.measured;
    j["cpu_percent"] = n.cpu_percent;
    j["rss_bytes"] = n.rss_bytes;
    j["uptime_ms"] = n.uptime_ms;
    j["restart_count"] = n.restarts;
    j["dropped"] = n.dropped;
    if (!n.exit_status.empty()) {
        j["exit_status"] = n.exit_status;
        j["exit_code"] = n.exit_code;
    }
    j["inputs"] = n.inputs;
    j["outputs"] = n.outputs;
    return j;
}

std::vector<std::string> answer_notes(const message::NodeStatsReply& reply) {
    std::vector<std::string> notes;
    for (const auto& dataflow : reply.dataflows) {
        for (const auto& answer : dataflow.machines) {
            if (answer.state == message::kNoAnswer) {
                notes.push_back(fmt::format(
                    "the daemon of machine `{}` did not answer in time (dataflow {}): its nodes "
                    "show `{}`",
                    machine_text(answer.machine_id), dataflow.id, message::kNodeNoAnswer));
            } else if (answer.state == message::kDisconnected) {
                notes.push_back(fmt::format(
                    "no daemon of machine `{}` is connected (dataflow {}): its nodes show `{}`",
                    machine_text(answer.machine_id), dataflow.id, message::kNodeLost));
            }
        }
    }
    return notes;
}

}  // namespace dora::cli
