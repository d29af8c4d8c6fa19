#include "message/node_config_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "testing/temp_dir.hpp"

namespace dora::message {
namespace {

namespace fs = std::filesystem;

NodeConfig large_config(size_t inputs) {
    NodeConfig c;
    c.dataflow_id = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000";
    c.node_id = "sink";
    c.machine_id = "edge1";
    c.region = "/dora.1.eeeeffff0000.r0";
    for (uint32_t i = 0; i < inputs; ++i) {
        c.inputs.push_back({fmt::format("in{}", i), i});
        c.senders.push_back({static_cast<uint16_t>(i + 1), fmt::format("/dora.1.x.p{}", i + 1)});
    }
    c.outputs.push_back({"out", {{"/dora.1.x.r2", 3}}});
    c.pool_prefix = "/dora.1.x.p9";
    c.descriptor_path = "/flows/dataflow.yml";
    return c;
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

TEST(NodeConfigFile, HandleStaysSmallAndLoadsTheWholeConfiguration) {
    testing::TempDir tmp;
    auto dir = NodeConfigDir::create(tmp.path() / "runtime", "dora.1.x");
    ASSERT_TRUE(dir) << dir.error().message();
    const NodeConfig config = large_config(5000);  // ~400 KB of JSON: over exec's 128 KiB
    ASSERT_GT(to_json(config).size(), 128u * 1024);
    auto handle = dir->write("node-0", config);
    ASSERT_TRUE(handle) << handle.error().message();
    EXPECT_LT(handle->size(), 512u);
    auto j = nlohmann::json::parse(*handle);
    EXPECT_EQ(j["node_id"], "sink");  // what user code may read, as from dora's variable
    EXPECT_EQ(j["dataflow_id"], config.dataflow_id);

    auto loaded = load_node_config(*handle);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(to_json(*loaded), to_json(config));
}

TEST(NodeConfigFile, WholeConfigurationInTheVariableIsStillAccepted) {
    const NodeConfig config = large_config(2);
    auto loaded = load_node_config(to_json(config));
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(to_json(*loaded), to_json(config));
}

TEST(NodeConfigFile, TheLimitOfAnOutputConsumedOnAnotherMachineTravels) {
    NodeConfig config = large_config(1);
    config.outputs[0].remote_max_message_size = 1 << 20;
    config.outputs[0].remote_envelope = 333;
    config.outputs.push_back({"local", {}});
    auto loaded = load_node_config(to_json(config));
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(loaded->outputs[0].remote_max_message_size, 1u << 20);
    EXPECT_EQ(loaded->outputs[0].remote_envelope, 333u);
    EXPECT_EQ(loaded->outputs[1].remote_max_message_size, 0u) << "local only: no limit";
}

TEST(NodeConfigFile, ThePoolLimitTravelsAndIsAbsentWhenUnset) {
    NodeConfig config = large_config(1);
    config.pool_class_limit = 5230;
    auto loaded = load_node_config(to_json(config));
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(loaded->pool_class_limit, 5230u);
    config.pool_class_limit = 0;
    EXPECT_EQ(to_json(config).find("pool_class_limit"), std::string::npos);
    loaded = load_node_config(to_json(config));
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(loaded->pool_class_limit, 0u);
}

TEST(NodeConfigFile, FilesAreReadableOnlyByTheUserAndRemovedWithTheDirectory) {
    testing::TempDir tmp;
    fs::path file;
    {
        auto dir = NodeConfigDir::create(tmp.path(), "flow");
        ASSERT_TRUE(dir) << dir.error().message();
        ASSERT_TRUE(dir->write("node-0", large_config(1)));
        auto again = dir->write("node-0", large_config(3));  // a restart rewrites it
        ASSERT_TRUE(again) << again.error().message();
        file = dir->path() / "node-0.json";
        EXPECT_EQ(mode_of(dir->path()), 0700u);
        EXPECT_EQ(mode_of(file), 0600u);
        auto loaded = load_node_config(*again);
        ASSERT_TRUE(loaded);
        EXPECT_EQ(loaded->inputs.size(), 3u);
    }
    EXPECT_FALSE(fs::exists(file));
    EXPECT_FALSE(fs::exists(tmp.path() / "flow"));
}

TEST(NodeConfigFile, MissingFileSaysTheDataflowHasEnded) {
    testing::TempDir tmp;
    const std::string handle = node_config_handle(large_config(1), tmp.path() / "gone.json");
    auto loaded = load_node_config(handle);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("gone.json"), std::string::npos)
        << loaded.error().message();
    EXPECT_NE(loaded.error().message().find("dataflow has ended"), std::string::npos);
}

TEST(NodeConfigFile, BaseDirectoryOthersMayWriteIsRefused) {
    testing::TempDir tmp;
    const fs::path base = tmp.path() / "shared";
    fs::create_directory(base);
    fs::permissions(base, fs::perms::all);
    auto dir = NodeConfigDir::create(base, "flow");
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.error().message().find("others may write"), std::string::npos)
        << dir.error().message();
}

TEST(NodeConfigFile, HandleWhoseFileIsAnotherNodesIsRefused) {
    testing::TempDir tmp;
    auto dir = NodeConfigDir::create(tmp.path(), "flow");
    ASSERT_TRUE(dir);
    ASSERT_TRUE(dir->write("node-0", large_config(1)));
    NodeConfig other = large_config(1);
    other.node_id = "camera";
    auto loaded = load_node_config(node_config_handle(other, dir->path() / "node-0.json"));
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("camera"), std::string::npos);
}

}  // namespace
}  // namespace dora::message
