// `dora graph FILE [--mermaid] [--open]`: the page is web/assets.hpp's graph_page, drawn by the
// same graph.js as the live web view; --mermaid prints dora's Mermaid text.
#include "cli/graph.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "cli/commands.hpp"
#include "web/assets.hpp"
#include "web/graph_json.hpp"

extern char** environ;

namespace dora::cli {
namespace {

constexpr std::string_view kTimerPrefix = "dora/timer/";

// Text inside a quoted Mermaid label; `"` would end it.
std::string mermaid_label(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"') {
            out += "#quot;";
        } else {
            out += c;
        }
    }
    return out;
}

void render_node(const NodeDescriptor& node, std::string& out) {
    std::string label = "**" + mermaid_label(node.id) + "**";
    if (node.description) label += "<hr/>*" + mermaid_label(*node.description) + "*";
    if (node.inputs.empty()) {
        out += fmt::format("  {}[\\\"{}\"/]\n", node.id, label);  // source
    } else if (node.outputs.empty()) {
        out += fmt::format("  {}[/\"{}\"\\]\n", node.id, label);  // sink
    } else {
        out += fmt::format("  {}[\"{}\"]\n", node.id, label);
    }
}

void render_timers(const Descriptor& descriptor, std::string& out) {
    std::set<std::string> timers;
    for (const auto& node : descriptor.nodes) {
        for (const auto& input : node.inputs) {
            if (std::holds_alternative<TimerSource>(input.source)) {
                timers.insert(format_input_source(input.source));
            }
        }
    }
    if (timers.empty()) return;
    out += "subgraph ___dora___ [dora]\n";
    out += "  subgraph ___timer_timer___ [timer]\n";
    for (const auto& timer : timers) {
        std::string_view interval = std::string_view(timer).substr(kTimerPrefix.size());
        out += fmt::format("    {}[\\{}/]\n", timer, interval);
    }
    out += "  end\n";
    out += "end\n";
}

void render_inputs(const Descriptor& descriptor, const NodeDescriptor& node, std::string& out) {
    for (const auto& input : node.inputs) {
        if (std::holds_alternative<TimerSource>(input.source)) {
            out += fmt::format("  {} -- {} --> {}\n", format_input_source(input.source), input.id,
                               node.id);
            continue;
        }
        const auto& source = std::get<NodeOutputSource>(input.source);
        const NodeDescriptor* producer = descriptor.find_node(source.node);
        bool found = producer != nullptr &&
                     std::find(producer->outputs.begin(), producer->outputs.end(), source.output) !=
                         producer->outputs.end();
        if (!found) {
            out += fmt::format("  missing>missing] -- {} --> {}\n", input.id, node.id);
            continue;
        }
        std::string data = source.output == input.id
                               ? source.output
                               : fmt::format("{} as {}", source.output, input.id);
        out += fmt::format("  {} -- {} --> {}\n", source.node, data, node.id);
    }
}

struct GraphOptions {
    std::string dataflow;
    bool mermaid = false;
    bool open = false;
};

// Best effort: a desktop may have no browser; the caller has already printed the path.
void open_in_browser(const std::filesystem::path& page) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::string program = "xdg-open";
    std::string argument = page.string();
    char* argv[] = {program.data(), argument.data(), nullptr};
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc != 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        std::cout << "could not open a browser (xdg-open failed); open the file above by hand\n";
    }
}

void run_graph(const GraphOptions& options) {
    auto descriptor = read_descriptor(options.dataflow);
    if (!descriptor) throw Exception(descriptor.error());
    std::string mermaid = render_mermaid(*descriptor);
    if (options.mermaid) {
        std::cout << mermaid << "\n"
                  << "Paste the above output on https://mermaid.live/ or in a ```mermaid code "
                     "block on GitHub to display it.\n";
        return;
    }
    std::filesystem::path dataflow(options.dataflow);
    std::filesystem::path page = descriptor->base_dir / (dataflow.stem().string() + ".html");
    std::ofstream out(page, std::ios::binary | std::ios::trunc);
    out << web::graph_page(dataflow.filename().string(), web::graph_json(*descriptor));
    out.close();
    if (!out) {
        throw Exception(
            Error::make("cannot write {}; check that the directory is writable", page.string()));
    }
    std::cout << "View graph by opening the following in your browser:\n  file://" << page.string()
              << "\n";
    if (options.open) open_in_browser(page);
}

}  // namespace

std::string render_mermaid(const Descriptor& descriptor) {
    std::string out = "flowchart TB\n";
    for (const auto& node : descriptor.nodes) render_node(node, out);
    render_timers(descriptor, out);
    for (const auto& node : descriptor.nodes) render_inputs(descriptor, node, out);
    return out;
}

void add_graph_command(CLI::App& app) {
    auto options = std::make_shared<GraphOptions>();
    auto* command = app.add_subcommand(
        "graph",
        "Draw a dataflow: a self-contained HTML page next to the file (nodes by machine, readable "
        "offline), or --mermaid text");
    command->add_option("dataflow", options->dataflow, "Path to the dataflow file")->required();
    command->add_flag("--mermaid", options->mermaid, "Print the Mermaid flowchart instead of HTML");
    command->add_flag("--open", options->open, "Open the HTML page in a browser (xdg-open)");
    command->callback([options] { run_graph(*options); });
}

}  // namespace dora::cli
