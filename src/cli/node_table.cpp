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

// The cells of one row, in column order.
std::vector<std::string> cells(const NodeRow& row, bool with_dataflow) {
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
    if (with_dataflow) {
        out.push_back(row.dataflow_name.empty() ? row.dataflow_id : row.dataflow_name);
    }
    return out;
}

constexpr std::array<const char*, 9> kHeader = {"NODE", "MACHINE", "PID",     "STATUS",  "RESTARTS",
                                                "CPU%", "RSS",     "DROPPED", "DATAFLOW"};
// Numbers are right-aligned.
constexpr std::array<bool, 9> kRight = {false, false, true, false, true, true, true, true, false};

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

std::vector<std::string> table_lines(const std::vector<NodeRow>& rows, bool with_dataflow) {
    const size_t columns = with_dataflow ? kHeader.size() : kHeader.size() - 1;
    std::vector<std::vector<std::string>> grid;
    grid.emplace_back(kHeader.begin(), kHeader.begin() + static_cast<ptrdiff_t>(columns));
    for (const auto& row : rows) {
        grid.push_back(cells(row, with_dataflow));
    }
    std::vector<size_t> width(columns, 0);
    for (const auto& line : grid) {
        for (size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], line[c].size());
    }
    std::vector<std::string> out;
    for (const auto& line : grid) {
        std::string text;
        for (size_t c = 0; c < columns; ++c) {
            const bool last = c + 1 == columns;
            if (kRight[c]) {
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
