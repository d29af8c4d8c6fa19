// dora-runtime: dora's runtime node for shared-library operators. The daemon starts it for a
// node with `operators:` (or `operator:`) whose operators are `shared-library:` ones, with the
// operators in DORA_OPERATORS (spec.hpp). It joins the dataflow as that node, loads every
// operator, and routes each event:
//   - INPUT / INPUT_CLOSED on "<operator>/<input>" go to that operator with the id "<input>";
//   - ERROR goes to the operator its input names (to every operator when it names none);
//   - STOP goes to every operator still running, in the order of the dataflow file, then the
//     node ends.
// An operator returning DORA_STATUS_STOP gets no more events; DORA_STATUS_STOP_ALL (or no
// operator left) ends the node. An operator that cannot be loaded or initialised, or that
// returns an error, fails the node with a message naming it (on standard error, which the daemon
// writes to the node's log). Every initialised operator is dropped at the end, also on failure.
//
// Thread safety: runs on the calling thread; operators are called from it only.
#pragma once

#include <memory>
#include <vector>

#include "core/error.hpp"
#include "dora/node.hpp"
#include "operator_runtime/shared_library.hpp"
#include "operator_runtime/spec.hpp"

namespace dora::operator_runtime {

// Loads the operators of `specs`, sending their outputs through `node`.
[[nodiscard]] Result<std::vector<std::unique_ptr<SharedLibraryOperator>>> load_operators(
    Node& node, std::vector<OperatorSpec> specs);

// Delivers `node`'s events to `operators` until the node ends; then drops every operator.
[[nodiscard]] Result<> run_operators(Node& node,
                                     std::vector<std::unique_ptr<SharedLibraryOperator>> operators);

// The whole runtime: DORA_OPERATORS and DORA_NODE_CONFIG from the environment.
[[nodiscard]] Result<> run_from_env();

}  // namespace dora::operator_runtime
