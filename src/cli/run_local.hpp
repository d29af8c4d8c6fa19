// Running a dataflow on this machine, without coordinator or daemon processes: what `dora run`
// does once it has read and validated the dataflow file, shared with `dora replay`, which runs a
// rewritten dataflow the same way.
//
// Thread safety: called from the CLI's main thread; runs its own event loop until the dataflow
// has finished.
#pragma once

#include <CLI/CLI.hpp>

#include "core/descriptor.hpp"

namespace dora::cli {

struct LocalRunOptions {
    double grace_seconds = 15.0;      // after STOP, before a node is killed
    double stop_after_seconds = 0.0;  // 0: run until every node has exited
    bool strict = false;              // a dropped message fails the run
};

// Runs `descriptor` (already validated) until every node has exited; Ctrl-C stops it. Node output
// is printed as `<node>: stdout    <line>`. Throws dora::Exception when the dataflow cannot start
// or a node failed (naming the nodes and their exit statuses).
void run_local(Descriptor descriptor, const LocalRunOptions& options);

// Adds --grace-duration, --stop-after and --strict, which fill `options`, to a verb.
void add_local_run_options(CLI::App& cmd, LocalRunOptions& options);

}  // namespace dora::cli
