// The web view's static files (index.html, app.js, graph.js, style.css from src/web), compiled
// in, and the self-contained page `dora graph` writes: graph.js and the styles inlined with the
// dataflow's graph, readable offline.
//
// Thread safety: constants and pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dora::web {

struct Asset {
    std::string_view path;  // "/assets/app.js"
    std::string_view content_type;
    std::string_view body;
};

// The asset served at `path` ("/assets/<file>"), or null.
[[nodiscard]] const Asset* find_asset(std::string_view path);

// A standalone HTML page that draws `graph` (graph_json()) with graph.js, everything inline.
[[nodiscard]] std::string graph_page(std::string_view title, const nlohmann::json& graph);

}  // namespace dora::web
