// `dora new NAME [--kind dataflow]`: scaffold a project with a C++ node and a Python node.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace dora::cli {
namespace {

constexpr std::string_view kDataflowTemplate =
    R"(# A dora dataflow: a C++ node sends a message every half second, a Python node prints it.
# Check it with `dora check --dataflow dataflow.yml`, build with `dora build dataflow.yml`,
# and run it with `dora run dataflow.yml`.
nodes:
  - id: talker
    path: build/talker
    build: cmake -S . -B build && cmake --build build
    inputs:
      tick: dora/timer/millis/500
    outputs:
      - message

  - id: listener
    path: listener.py
    inputs:
      message: talker/message
)";

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

constexpr std::string_view kCmakeTemplate = R"(cmake_minimum_required(VERSION 3.25)
project(__NAME__ LANGUAGES CXX)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)

# dora-cpp's installed package; set CMAKE_PREFIX_PATH to its install prefix if CMake cannot
# find it.
find_package(dora REQUIRED)

add_executable(talker talker.cpp)
target_link_libraries(talker PRIVATE dora::node)
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

constexpr std::string_view kReadmeTemplate = R"(# __NAME__

A dora dataflow with two nodes:

- `talker` (C++, `talker.cpp`): sends a message on every tick of a 500 ms timer.
- `listener` (Python, `listener.py`): prints the messages it receives.

## Run it

```sh
dora check --dataflow dataflow.yml   # validate the dataflow
dora build dataflow.yml              # runs the `build:` commands (compiles talker)
dora run dataflow.yml                # runs both nodes locally; Ctrl-C stops them
```

`dora graph dataflow.yml` draws the dataflow.
)";

struct NewOptions {
    std::string name;
    std::string kind = "dataflow";
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

void run_new(const NewOptions& options) {
    if (options.kind != "dataflow") {
        throw Exception(
            Error::make("`--kind {}` is not supported by dora-cpp yet; use "
                        "`--kind dataflow` (the default)",
                        options.kind));
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
    write_file(dir / "dataflow.yml", kDataflowTemplate);
    write_file(dir / "talker.cpp", kCppNodeTemplate);
    write_file(dir / "CMakeLists.txt", with_name(kCmakeTemplate, name));
    write_file(dir / "listener.py", kPythonNodeTemplate);
    write_file(dir / "README.md", with_name(kReadmeTemplate, name));
    std::cout << "created dataflow project `" << name << "` in " << dir.string() << "\n"
              << "next: cd " << dir.string() << " && dora check --dataflow dataflow.yml\n";
}

}  // namespace

void add_new_command(CLI::App& app) {
    auto options = std::make_shared<NewOptions>();
    auto* command = app.add_subcommand(
        "new", "Create a new dataflow project (a C++ node and a Python node) in directory NAME");
    command->add_option("name", options->name, "Name of the new project directory")->required();
    command->add_option("--kind", options->kind, "What to create: dataflow")->capture_default_str();
    command->callback([options] { run_new(*options); });
}

}  // namespace dora::cli
