#include "web/assets.hpp"

#include <fmt/format.h>

namespace dora::web {

extern const Asset kAssets[];
extern const size_t kAssetCount;

const Asset* find_asset(std::string_view path) {
    for (size_t i = 0; i < kAssetCount; ++i) {
        if (kAssets[i].path == path) {
            return &kAssets[i];
        }
    }
    return nullptr;
}

namespace {

std::string escape_html(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// JSON inside a <script> element: "</" could end the element early, so '<' is escaped.
std::string script_json(const nlohmann::json& value) {
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    for (char c : text) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string graph_page(std::string_view title, const nlohmann::json& graph) {
    const Asset* style = find_asset("/assets/style.css");
    const Asset* script = find_asset("/assets/graph.js");
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{0} - dora graph</title>
<style>
{1}</style>
</head>
<body>
<header><a href="#">dora graph</a><span>{0}</span></header>
<main><div id="graph"></div></main>
<script>
{2}</script>
<script>
DoraGraph.render(document.getElementById("graph"), {3});
</script>
</body>
</html>
)",
                       escape_html(title), style != nullptr ? style->body : "",
                       script != nullptr ? script->body : "", script_json(graph));
}

}  // namespace dora::web
