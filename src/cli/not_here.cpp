// dora's verbs that dora-cpp does not have (`dora self`, `dora system`, ...): each
// is refused with what to use here instead, not with CLI11's "A subcommand is required". Hidden
// from --help; every argument after the verb is accepted so that the message is the same however
// the verb is spelled out.
#include <string>
#include <utility>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace dora::cli {

void add_not_here_commands(CLI::App& app) {
    static const std::pair<const char*, const char*> kVerbs[] = {
        {"system", "`dora list` shows the coordinator's daemons (with their labels) and dataflows"},
        {"status", "`dora list` shows the coordinator's daemons (with their labels) and dataflows"},
        {"doctor", "`dora list` shows the coordinator's daemons (with their labels) and dataflows"},
        {"self", "dora-cpp is installed from source (README): rebuild it to update it"},
        {"runtime",
         "the daemon starts operator nodes itself (`dora-runtime` for shared-library operators, "
         "`python3 -m dora.operator_runtime` for Python ones)"},
        {"restart", "`dora stop <dataflow>`, then `dora start <file>` again"},
    };
    for (const auto& [verb, instead] : kVerbs) {
        auto* cmd = app.add_subcommand(verb, "");
        cmd->group("");  // not listed in --help
        cmd->prefix_command();
        cmd->callback([verb = std::string(verb), instead = std::string(instead)] {
            throw Exception(Error::make(
                "`dora {}` is a dora command that dora-cpp does not have; {}", verb, instead));
        });
    }
}

}  // namespace dora::cli
