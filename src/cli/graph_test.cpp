#include "cli/graph.hpp"

#include <gtest/gtest.h>

namespace dora::cli {
namespace {

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

Descriptor parse(std::string_view yaml) {
    auto parsed = parse_descriptor(yaml, "graph.yml");
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message());
    return parsed ? *parsed : Descriptor{};
}

constexpr std::string_view kDataflow = R"(nodes:
  - id: camera
    description: Reads "frames"
    path: shell
    outputs: [image]
  - id: detector
    path: shell
    inputs:
      image: camera/image
      tick: dora/timer/millis/100
    outputs: [boxes]
  - id: plot
    path: shell
    inputs:
      detections: detector/boxes
      lost: nowhere/out
      slow: dora/timer/hz/2
)";

TEST(RenderMermaid, DrawsSourcesSinksAndNormalNodesWithTheirShapes) {
    std::string mermaid = render_mermaid(parse(kDataflow));
    EXPECT_TRUE(mermaid.starts_with("flowchart TB\n"));
    EXPECT_CONTAINS(mermaid, "  camera[\\\"**camera**<hr/>*Reads #quot;frames#quot;*\"/]\n");
    EXPECT_CONTAINS(mermaid, "  detector[\"**detector**\"]\n");
    EXPECT_CONTAINS(mermaid, "  plot[/\"**plot**\"\\]\n");
}

TEST(RenderMermaid, TimersAreNodesInADoraSubgraph) {
    std::string mermaid = render_mermaid(parse(kDataflow));
    EXPECT_CONTAINS(mermaid, "subgraph ___dora___ [dora]\n  subgraph ___timer_timer___ [timer]\n");
    EXPECT_CONTAINS(mermaid, "    dora/timer/millis/100[\\millis/100/]\n");
    EXPECT_CONTAINS(mermaid, "    dora/timer/hz/2[\\hz/2/]\n");
    EXPECT_CONTAINS(mermaid, "  dora/timer/millis/100 -- tick --> detector\n");
}

TEST(RenderMermaid, EdgesAreLabelledWithOutputAndInput) {
    std::string mermaid = render_mermaid(parse(kDataflow));
    EXPECT_CONTAINS(mermaid, "  camera -- image --> detector\n");
    EXPECT_CONTAINS(mermaid, "  detector -- boxes as detections --> plot\n");
    EXPECT_CONTAINS(mermaid, "  missing>missing] -- lost --> plot\n");
}

}  // namespace
}  // namespace dora::cli
