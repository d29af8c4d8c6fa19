#include <gtest/gtest.h>

#include "web/assets.hpp"
#include "web/graph_json.hpp"

namespace dora::web {
namespace {

TEST(WebAssets, EveryFileOfThePageIsCompiledIn) {
    for (const char* path :
         {"/assets/index.html", "/assets/app.js", "/assets/graph.js", "/assets/style.css"}) {
        const Asset* asset = find_asset(path);
        ASSERT_NE(asset, nullptr) << path;
        EXPECT_GT(asset->body.size(), 100u) << path;
    }
    EXPECT_NE(find_asset("/assets/app.js")->content_type.find("javascript"), std::string::npos);
    EXPECT_EQ(find_asset("/assets/../etc/passwd"), nullptr);
    EXPECT_EQ(find_asset("/assets/"), nullptr);
}

TEST(GraphJson, GroupsNodesByMachineWithTheirEdges) {
    auto descriptor = parse_descriptor(R"(
nodes:
  - id: sensor
    path: s.py
    _unstable_deploy: {machine: edge}
    inputs: {tick: dora/timer/millis/100}
    outputs: [reading]
  - id: sink
    path: k.py
    _unstable_deploy: {machine: cloud}
    inputs: {data: sensor/reading}
)",
                                       "flow.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto graph = graph_json(*descriptor);
    ASSERT_EQ(graph["machines"].size(), 2u);
    EXPECT_EQ(graph["machines"][0]["id"], "edge");
    EXPECT_EQ(graph["machines"][0]["nodes"][0]["inputs"][0]["source"], "dora/timer/millis/100");
    EXPECT_EQ(graph["machines"][1]["nodes"][0]["id"], "sink");
    ASSERT_EQ(graph["edges"].size(), 1u);
    EXPECT_EQ(graph["edges"][0]["from"], "sensor/reading");
    EXPECT_EQ(graph["edges"][0]["to"], "sink/data");

    // The placement the coordinator made wins over the descriptor's.
    auto placed = graph_json(*descriptor, [](const NodeDescriptor&) { return std::string("m"); });
    ASSERT_EQ(placed["machines"].size(), 1u);
    EXPECT_EQ(placed["machines"][0]["nodes"].size(), 2u);
}

TEST(GraphPage, IsSelfContainedAndKeepsIdsOutOfTheMarkup) {
    nlohmann::json graph = {{"machines",
                             {{{"id", "m"},
                               {"nodes",
                                {{{"id", "</script><b>x"},
                                  {"inputs", nlohmann::json::array()},
                                  {"outputs", {"o"}}}}}}}},
                            {"edges", nlohmann::json::array()}};
    std::string page = graph_page("a <title>", graph);
    for (const char* load : {"src=\"http", "href=\"http", "src=\"//", "@import", "cdn"}) {
        EXPECT_EQ(page.find(load), std::string::npos)
            << "nothing loaded from the network: " << load;
    }
    EXPECT_NE(page.find("DoraGraph.render"), std::string::npos);
    EXPECT_NE(page.find("a &lt;title&gt;"), std::string::npos);
    EXPECT_EQ(page.find("</script><b>"), std::string::npos) << "a node id ends the script element";
    EXPECT_NE(page.find("\\u003c/script>\\u003cb>x"), std::string::npos);
}

}  // namespace
}  // namespace dora::web
