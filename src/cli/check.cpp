// `dora check [--dataflow FILE | FILE]`: parse and validate a dataflow without running it.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/descriptor.hpp"

namespace dora::cli {
namespace {

struct CheckOptions {
    std::string dataflow_flag;
    std::string dataflow_positional;
    std::string coordinator_addr = "127.0.0.1";
    uint16_t coordinator_port = 6012;
};

size_t count_lines(const std::string& text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

void run_check(const CheckOptions& options) {
    if (!options.dataflow_flag.empty() && !options.dataflow_positional.empty() &&
        options.dataflow_flag != options.dataflow_positional) {
        throw Exception(
            Error("two different dataflows given (--dataflow and a positional "
                  "file); give one"));
    }
    std::string file =
        options.dataflow_flag.empty() ? options.dataflow_positional : options.dataflow_flag;
    if (file.empty()) {
        throw Exception(
            Error("checking the coordinator and daemons is not supported yet; "
                  "check a dataflow with `dora check --dataflow <file.yml>`"));
    }
    auto descriptor = read_descriptor(file);
    if (descriptor) {
        auto valid = validate(*descriptor);
        if (valid) {
            std::cout << file << ": dataflow is valid (" << descriptor->nodes.size()
                      << (descriptor->nodes.size() == 1 ? " node" : " nodes") << ")\n";
            return;
        }
        descriptor = tl::unexpected(valid.error());
    }
    const std::string& problems = descriptor.error().message();
    size_t count = count_lines(problems);
    throw Exception(Error::make("dataflow {} is not valid ({} problem{}):\n{}", file, count,
                                count == 1 ? "" : "s", problems));
}

}  // namespace

void add_check_command(CLI::App& app) {
    auto options = std::make_shared<CheckOptions>();
    auto* command = app.add_subcommand(
        "check", "Check that a dataflow file is valid: schema, node ids, inputs and paths");
    command->add_option("--dataflow", options->dataflow_flag, "Path to the dataflow file")
        ->option_text("PATH");
    command->add_option("dataflow", options->dataflow_positional,
                        "Path to the dataflow file (same as --dataflow)");
    command->add_option("--coordinator-addr", options->coordinator_addr,
                        "Address of the dora coordinator (not checked yet)");
    command->add_option("--coordinator-port", options->coordinator_port,
                        "Control port of the dora coordinator (not checked yet)");
    command->callback([options] { run_check(*options); });
}

}  // namespace dora::cli
