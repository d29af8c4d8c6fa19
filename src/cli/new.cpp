// `dora new NAME [--kind dataflow|node] [--lang python|c|cxx]`: scaffolds a dataflow project (by
// default a C++ talker and a Python listener; with --lang, both nodes in that language) or a
// single node to add to a dataflow. dora's `--lang rust` is refused: dora-cpp runs no Rust nodes.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace dora::cli {
namespace {

constexpr std::string_view kCppNodeTemplate =
    R"(// talker: on every timer tick, sends "hello from C++ #<n>" on its `message` output.
#include <dora/node.hpp>

#include <cstddef>
#include <iostream>
#include <span>
#include <string>

int main() {
    auto node = dora::Node::from_env();
    int count = 0;
    while (auto event = node.next()) {
        if (event->type == dora::EventType::Input) {
            std::string text = "hello from C++ #" + std::to_string(++count);
            auto bytes = std::as_bytes(std::span(text.data(), text.size()));
            node.send_output("message", bytes);
            std::cout << "sent: " << text << std::endl;
        } else if (event->type == dora::EventType::Stop) {
            break;
        }
    }
    return 0;
}
)";

constexpr std::string_view kPythonNodeTemplate =
    R"("""listener: prints every message it receives."""
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            text = bytes(event["value"].to_pylist()).decode("utf-8")
            print(f"listener received {event['id']}: {text}")
        elif event["type"] == "STOP":
            break


if __name__ == "__main__":
    main()
)";

constexpr std::string_view kPythonTalkerTemplate =
    R"("""talker: on every timer tick, sends "hello from Python #<n>" on its `message` output."""
from dora import Node


def main():
    node = Node()
    count = 0
    for event in node:
        if event["type"] == "INPUT":
            count += 1
            text = f"hello from Python #{count}"
            node.send_output("message", text.encode("utf-8"))
            print(f"sent: {text}")


if __name__ == "__main__":
    main()
)";

constexpr std::string_view kCTalkerTemplate =
    R"(/* talker: on every timer tick, sends "hello from C #<n>" on its `message` output. */
#include <dora/node_api.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    void *ctx = init_dora_context_from_env();
    if (ctx == NULL) {
        return 1; /* the reason is on stderr */
    }
    int count = 0;
    void *event;
    while ((event = dora_next_event(ctx)) != NULL) {
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char text[64];
            int len = snprintf(text, sizeof text, "hello from C #%d", ++count);
            dora_send_output(ctx, "message", strlen("message"), text, (size_t)len);
            printf("sent: %s\n", text);
            fflush(stdout);
        }
        free_dora_event(event);
    }
    free_dora_context(ctx);
    return 0;
}
)";

constexpr std::string_view kCListenerTemplate =
    R"(/* listener: prints every message it receives. */
#include <dora/node_api.h>
#include <stdio.h>

int main(void) {
    void *ctx = init_dora_context_from_env();
    if (ctx == NULL) {
        return 1; /* the reason is on stderr */
    }
    void *event;
    while ((event = dora_next_event(ctx)) != NULL) {
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char *id, *data;
            size_t id_len, data_len;
            read_dora_input_id(event, &id, &id_len);
            read_dora_input_data(event, &data, &data_len);
            printf("listener received %.*s: %.*s\n", (int)id_len, id, (int)data_len, data);
            fflush(stdout);
        }
        free_dora_event(event);
    }
    free_dora_context(ctx);
    return 0;
}
)";

constexpr std::string_view kCppListenerTemplate =
    R"cpp(// listener: prints every message it receives.
#include <dora/node.hpp>

#include <iostream>

          int main() {
              auto node = dora::Node::from_env();
              for (auto& event : node) {
                  if (event.type == dora::EventType::Input) {
                      std::cout << "listener received " << event.id << ": "
                                << event.as_string().value_or("(not text)") << std::endl;
                  }
              }
              return 0;
          }
    )cpp";

// A node to add to a dataflow: forwards every input to its `out` output.
constexpr std::string_view kPythonNodeOnlyTemplate =
    R"("""__NAME__: forwards every input to its `out` output, with the input's metadata."""
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output("out", event["value"], event["metadata"])


if __name__ == "__main__":
    main()
)";

constexpr std::string_view kCNodeOnlyTemplate =
    R"(/* __NAME__: forwards the bytes of every input to its `out` output. */
#include <dora/node_api.h>

int main(void) {
    void *ctx = init_dora_context_from_env();
    if (ctx == NULL) {
        return 1; /* the reason is on stderr */
    }
    void *event;
    while ((event = dora_next_event(ctx)) != NULL) {
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char *data;
            size_t len;
            read_dora_input_data(event, &data, &len);
            dora_send_output(ctx, "out", 3, data, len);
        }
        free_dora_event(event);
    }
    free_dora_context(ctx);
    return 0;
}
)";

constexpr std::string_view kCppNodeOnlyTemplate =
    R"(// __NAME__: forwards the bytes of every input to its `out` output, with the input's metadata.
#include <dora/node.hpp>

int main() {
    auto node = dora::Node::from_env();
    for (auto& event : node) {
        if (event.type == dora::EventType::Input) {
            node.send_output("out", event.data(), event.metadata.parameters);
        }
    }
    return 0;
}
)";

struct NewOptions {
    std::string name;
    std::string kind = "dataflow";
    std::string lang;  // empty: a C++ talker and a Python listener
};

std::string with_name(std::string_view text, const std::string& name) {
    std::string out(text);
    constexpr std::string_view kPlaceholder = "__NAME__";
    for (size_t at = out.find(kPlaceholder); at != std::string::npos;
         at = out.find(kPlaceholder, at + name.size())) {
        out.replace(at, kPlaceholder.size(), name);
    }
    return out;
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Exception(Error::make("cannot write {}", path.string()));
}

// A CMakeLists.txt building `executables` (name -> source) against the installed dora-cpp.
std::string cmake_lists(const std::string& project, bool c,
                        const std::vector<std::pair<std::string, std::string>>& executables) {
    std::string text =
        fmt::format("cmake_minimum_required(VERSION 3.25)\nproject({} LANGUAGES {})\n\n", project,
                    c ? "C" : "CXX");
    if (!c) {
        text += "set(CMAKE_CXX_STANDARD 20)\nset(CMAKE_CXX_STANDARD_REQUIRED ON)\n\n";
    }
    text +=
        "# dora-cpp's installed package; set CMAKE_PREFIX_PATH to its install prefix if CMake "
        "cannot\n# find it.\nfind_package(dora REQUIRED)\n";
    for (const auto& [exe, source] : executables) {
        text += fmt::format(
            "\nadd_executable({0} {1})\ntarget_link_libraries({0} PRIVATE dora::node)\n", exe,
            source);
    }
    return text;
}

constexpr std::string_view kBuild = "cmake -S . -B build && cmake --build build";

// The nodes of a dataflow project: (talker path, listener path, files to write, build command).
struct Scaffold {
    std::string talker_path;
    std::string listener_path;
    std::string build;  // the `build:` of the first compiled node (empty: nothing to compile)
    std::vector<std::pair<std::string, std::string>> files;  // file name -> contents
    std::string description;
};

Scaffold dataflow_scaffold(const std::string& lang, const std::string& name) {
    Scaffold s;
    if (lang.empty()) {
        s = {"build/talker",
             "listener.py",
             std::string(kBuild),
             {{"talker.cpp", std::string(kCppNodeTemplate)},
              {"listener.py", std::string(kPythonNodeTemplate)},
              {"CMakeLists.txt", cmake_lists(name, false, {{"talker", "talker.cpp"}})}},
             "`talker` (C++, `talker.cpp`) and `listener` (Python, `listener.py`)"};
    } else if (lang == "python") {
        s = {"talker.py",
             "listener.py",
             "",
             {{"talker.py", std::string(kPythonTalkerTemplate)},
              {"listener.py", std::string(kPythonNodeTemplate)}},
             "`talker` (`talker.py`) and `listener` (`listener.py`), both Python"};
    } else if (lang == "c") {
        s = {"build/talker",
             "build/listener",
             std::string(kBuild),
             {{"talker.c", std::string(kCTalkerTemplate)},
              {"listener.c", std::string(kCListenerTemplate)},
              {"CMakeLists.txt",
               cmake_lists(name, true, {{"talker", "talker.c"}, {"listener", "listener.c"}})}},
             "`talker` (`talker.c`) and `listener` (`listener.c`), C nodes on dora's C API "
             "(`dora/node_api.h`)"};
    } else {
        s = {"build/talker",
             "build/listener",
             std::string(kBuild),
             {{"talker.cpp", std::string(kCppNodeTemplate)},
              {"listener.cpp", std::string(kCppListenerTemplate)},
              {"CMakeLists.txt",
               cmake_lists(name, false, {{"talker", "talker.cpp"}, {"listener", "listener.cpp"}})}},
             "`talker` (`talker.cpp`) and `listener` (`listener.cpp`), C++ nodes"};
    }
    return s;
}

std::string dataflow_yaml(const Scaffold& s) {
    std::string text =
        "# A dora dataflow: `talker` sends a message every half second, `listener` prints it.\n"
        "# Check it with `dora check --dataflow dataflow.yml`";
    text += s.build.empty() ? "" : ", build with `dora build dataflow.yml`";
    text += ",\n# and run it with `dora run dataflow.yml`.\nnodes:\n  - id: talker\n    path: " +
            s.talker_path + "\n";
    if (!s.build.empty()) {
        text += "    build: " + s.build + "\n";
    }
    text +=
        "    inputs:\n      tick: dora/timer/millis/500\n    outputs:\n      - message\n\n"
        "  - id: listener\n    path: " +
        s.listener_path + "\n";
    if (!s.build.empty() && s.listener_path.starts_with("build/")) {
        text += "    build: " + s.build + "\n";  // CMake builds both at once; the second is a no-op
    }
    text += "    inputs:\n      message: talker/message\n";
    return text;
}

std::string dataflow_readme(const std::string& name, const Scaffold& s) {
    std::string text = "# " + name + "\n\nA dora dataflow with two nodes: " + s.description +
                       ". `talker` sends a message on every tick of a 500 ms timer; `listener` "
                       "prints the messages it receives.\n\n## Run it\n\n```sh\n"
                       "dora check --dataflow dataflow.yml   # validate the dataflow\n";
    if (!s.build.empty()) {
        text += "dora build dataflow.yml              # runs the `build:` commands (CMake)\n";
    }
    text +=
        "dora run dataflow.yml                # runs the nodes locally; Ctrl-C stops them\n"
        "```\n\n`dora graph dataflow.yml` draws the dataflow.\n";
    return text;
}

void new_node(const std::filesystem::path& dir, const std::string& name, const std::string& lang) {
    std::string path;
    std::string build;
    if (lang == "python") {
        write_file(dir / (name + ".py"), with_name(kPythonNodeOnlyTemplate, name));
        path = (dir / (name + ".py")).string();
    } else {
        const bool c = lang == "c";
        const std::string source = name + (c ? ".c" : ".cpp");
        write_file(dir / source, with_name(c ? kCNodeOnlyTemplate : kCppNodeOnlyTemplate, name));
        write_file(dir / "CMakeLists.txt", cmake_lists(name, c, {{name, source}}));
        path = (dir / "build" / name).string();
        build = fmt::format("cmake -S {0} -B {0}/build && cmake --build {0}/build", dir.string());
    }
    std::string snippet = "  - id: " + name + "\n    path: " + path + "\n";
    if (!build.empty()) {
        snippet += "    build: " + build + "\n";
    }
    snippet += "    inputs:\n      in: <node>/<output>\n    outputs:\n      - out\n";
    write_file(dir / "README.md",
               "# " + name +
                   "\n\nA dora node that forwards every input to its `out` output. Add "
                   "it to a dataflow (paths relative to the dataflow file's "
                   "directory):\n\n```yaml\n" +
                   snippet + "```\n");
    std::cout << "created "
              << (lang == "cxx" ? "C++"
                  : lang == "c" ? "C"
                                : "Python")
              << " node `" << name << "` in " << dir.string() << "\nadd it to a dataflow:\n"
              << snippet;
}

void run_new(const NewOptions& options) {
    if (options.kind != "dataflow" && options.kind != "node") {
        throw Exception(
            Error::make("`--kind {}`: dora new creates a `dataflow` (the default) or a "
                        "`node`",
                        options.kind));
    }
    if (options.lang == "rust") {
        throw Exception(
            Error::make("`--lang rust`: dora-cpp runs no Rust nodes; choose "
                        "`--lang python`, `c` or `cxx`"));
    }
    if (!options.lang.empty() && options.lang != "python" && options.lang != "c" &&
        options.lang != "cxx") {
        throw Exception(
            Error::make("`--lang {}` is not a node language; choose `python`, `c` or "
                        "`cxx` (C++)",
                        options.lang));
    }
    std::filesystem::path dir(options.name);
    std::string name = dir.filename().string();
    if (name.empty() || name == "." || name == "..") {
        throw Exception(
            Error::make("\"{}\" is not a project name; give a new directory name "
                        "like `my-dataflow`",
                        options.name));
    }
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) {
        throw Exception(
            Error::make("{} already exists; choose another name or remove it first", dir.string()));
    }
    if (!std::filesystem::create_directories(dir, ec) || ec) {
        throw Exception(Error::make("cannot create directory {}: {}", dir.string(),
                                    ec ? ec.message() : "unknown error"));
    }
    if (options.kind == "node") {
        new_node(dir, name, options.lang.empty() ? "python" : options.lang);
        return;
    }
    const Scaffold scaffold = dataflow_scaffold(options.lang, name);
    write_file(dir / "dataflow.yml", dataflow_yaml(scaffold));
    for (const auto& [file, text] : scaffold.files) {
        write_file(dir / file, text);
    }
    write_file(dir / "README.md", dataflow_readme(name, scaffold));
    std::cout << "created dataflow project `" << name << "` in " << dir.string() << "\n"
              << "next: cd " << dir.string() << " && dora check --dataflow dataflow.yml\n";
}

}  // namespace

void add_new_command(CLI::App& app) {
    auto options = std::make_shared<NewOptions>();
    auto* command = app.add_subcommand(
        "new",
        "Create a new dataflow project (by default a C++ talker and a Python listener) or a node "
        "in directory NAME");
    command->add_option("name", options->name, "Name of the new directory")->required();
    command->add_option("--kind", options->kind, "What to create: dataflow or node")
        ->capture_default_str();
    command->add_option("--lang", options->lang,
                        "The nodes' language: python, c or cxx (default: a C++ talker and a "
                        "Python listener; a Python node for --kind node)");
    command->callback([options] { run_new(*options); });
}

}  // namespace dora::cli
