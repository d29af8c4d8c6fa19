// Drawing a dataflow: Mermaid flowchart text (as `dora graph --mermaid` prints it) and an HTML
// page around it.
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

// A standalone page: renders with mermaid.js from a CDN when online and always shows the
// Mermaid text, so it is still useful offline.
[[nodiscard]] std::string render_graph_html(std::string_view title, std::string_view mermaid);

}  // namespace dora::cli
