// `dora version`.
#include <iostream>

#include "cli/commands.hpp"

#ifndef DORA_VERSION
#error "DORA_VERSION must be defined by the build (the CMake project version)"
#endif

namespace dora::cli {

std::string version_text() { return std::string("dora-cpp ") + DORA_VERSION; }

void add_version_command(CLI::App& app) {
    auto* command = app.add_subcommand("version", "Print the version of dora-cpp");
    command->callback([] { std::cout << version_text() << "\n"; });
}

}  // namespace dora::cli
