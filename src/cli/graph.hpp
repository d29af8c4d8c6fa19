// Drawing a dataflow as Mermaid flowchart text (as `dora graph --mermaid` prints it); the HTML page
// comes from web/assets.hpp.
//
// The flowchart follows dora 0.3.12: source nodes (no inputs) and sink nodes (no outputs) get
// their own shapes, timers are nodes of their own inside a `dora` subgraph, edges are labelled
// `output` or `output as input`, and an input whose source does not exist comes from a `missing`
// node.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/descriptor.hpp"

namespace dora::cli {

[[nodiscard]] std::string render_mermaid(const Descriptor& descriptor);

}  // namespace dora::cli
