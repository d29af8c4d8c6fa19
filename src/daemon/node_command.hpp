// The command line, working directory and environment of a node, from its descriptor:
// `*.py` runs as `python3 -u <script> <args>`, `shell` as `sh -c <args>`, anything else as the
// executable with `args` split like a shell splits words; a runtime node (`operators:`) as
// `python3 -u -m dora.operator_runtime` (Python operators) or dora-runtime (shared-library
// operators) with its operators in DORA_OPERATORS (JSON: id, `python` or `shared_library` file,
// inputs, outputs); `env` values have `$VAR` expanded against the daemon's environment.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>

#include "core/descriptor.hpp"
#include "daemon/spawner.hpp"

namespace dora::daemon {

inline constexpr std::string_view kOperatorsEnv = "DORA_OPERATORS";

// The node's working directory: its deploy working_dir, else the dataflow file's directory. Its
// logs go there; it runs there too, unless it is a git node (it runs in its clone).
[[nodiscard]] std::filesystem::path node_working_dir(const Descriptor& descriptor,
                                                     const NodeDescriptor& node);

// `base_env` is the daemon's environment plus runtime variables; node env is layered on top.
[[nodiscard]] Result<SpawnSpec> node_spawn_spec(const Descriptor& descriptor,
                                                const NodeDescriptor& node,
                                                std::map<std::string, std::string> base_env);

}  // namespace dora::daemon
