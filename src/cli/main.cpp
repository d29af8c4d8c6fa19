// `dora`: parses the command line and dispatches to the verb added by commands.hpp.
// This is the exception edge of the program: verbs throw, this prints and sets the exit status.
#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/sys.hpp"

int main(int argc, char** argv) {
    CLI::App app{"dora-cpp: run dora dataflows", "dora"};
    app.set_version_flag("--version", dora::cli::version_text(), "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough(false);

    dora::cli::add_check_command(app);
    dora::cli::add_graph_command(app);
    dora::cli::add_new_command(app);
    dora::cli::add_version_command(app);
    dora::cli::add_run_command(app);
    dora::cli::add_daemon_command(app);
    dora::cli::add_coordinator_command(app);
    dora::cli::add_up_command(app);
    dora::cli::add_destroy_command(app);
    dora::cli::add_build_command(app);
    dora::cli::add_start_command(app);
    dora::cli::add_stop_command(app);
    dora::cli::add_list_command(app);
    dora::cli::add_logs_command(app);
    dora::cli::add_node_command(app);
    dora::cli::add_top_command(app);
    dora::cli::add_cert_command(app);
    dora::cli::add_cluster_command(app);
    dora::cli::add_replay_command(app);
    dora::cli::add_replay_node_command(app);
    dora::cli::add_router_command(app);
    dora::cli::add_zenoh_command(app);
    dora::cli::add_topic_command(app);
    dora::cli::add_record_command(app);
    dora::cli::add_not_here_commands(app);

    // A daemon holds descriptors per node, a coordinator per connection: as many as allowed.
    (void)dora::sys::raise_open_file_limit();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int status = app.exit(e);  // prints help/version to stdout, usage errors to stderr
        return status == 0 ? 0 : 1;
    } catch (const dora::Exception& e) {
        std::fflush(stdout);
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
