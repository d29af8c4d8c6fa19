// The files that travel with a dataflow: .doraignore rules, the manifest of a directory (limits,
// symlinks), path checks, and the daemon's store (hash verified on arrival, materialized into a
// fresh directory and nowhere else).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "deploy/ignore_rules.hpp"
#include "deploy/manifest.hpp"
#include "testing/temp_dir.hpp"

namespace dora::deploy {
namespace {

namespace fs = std::filesystem;

std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

std::string read(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Glob, GitignoreWildcards) {
    struct Case {
        const char* pattern;
        const char* text;
        bool matches;
    };
    const Case cases[] = {
        {"*.pyc", "a.pyc", true},
        {"*.pyc", "dir/a.pyc", false},  // `*` stops at '/'
        {"a?c", "abc", true},
        {"a?c", "a/c", false},
        {"[a-c]x", "bx", true},
        {"[!a-c]x", "bx", false},
        {"**/data", "data", true},
        {"**/data", "a/b/data", true},
        {"logs/**", "logs/a/b", true},
        {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/y/b", true},
        {"a/**/b", "a/x/y/c", false},
        {"\\*star", "*star", true},
        {"\\*star", "xstar", false},
        {"[x", "[x", true},  // an unclosed bracket is a plain '['
    };
    for (const auto& c : cases) {
        EXPECT_EQ(glob_match(c.pattern, c.text), c.matches) << c.pattern << " on " << c.text;
    }
}

TEST(IgnoreRules, DefaultsLeaveOutGitLogsAndBuildOutput) {
    IgnoreRules rules;
    EXPECT_TRUE(rules.ignored(".git", true));
    EXPECT_TRUE(rules.ignored("sub/.git", true));
    EXPECT_TRUE(rules.ignored("out", true));
    EXPECT_FALSE(rules.ignored("nodes/out", true));  // only the dataflow's own out/
    EXPECT_TRUE(rules.ignored("build", true));
    EXPECT_TRUE(rules.ignored("node/__pycache__", true));
    EXPECT_TRUE(rules.ignored("x.pyc", false));
    EXPECT_FALSE(rules.ignored("build", false));  // a file named build is kept
    EXPECT_FALSE(rules.ignored("node.py", false));
}

TEST(IgnoreRules, DoraignoreAddsAnchorsAndReincludes) {
    auto rules = IgnoreRules::with(
        "# data we do not ship\n\n*.bin\n/model/\nlogs/**\n!keep.bin\n!build/\ndocs/*.md\n");
    EXPECT_TRUE(rules.ignored("a.bin", false));
    EXPECT_TRUE(rules.ignored("deep/a.bin", false));
    EXPECT_FALSE(rules.ignored("keep.bin", false));  // the last matching rule wins
    EXPECT_TRUE(rules.ignored("model", true));
    EXPECT_FALSE(rules.ignored("sub/model", true));  // anchored
    EXPECT_FALSE(rules.ignored("build", true));      // re-included over the default
    EXPECT_TRUE(rules.ignored("docs/a.md", false));
    EXPECT_FALSE(rules.ignored("docs/sub/a.md", false));
    EXPECT_TRUE(rules.ignored("logs/x/y.txt", false));
}

TEST(Paths, OnlyPlainRelativePathsPass) {
    EXPECT_TRUE(check_relative_path("a/b.py"));
    const std::string_view bads[] = {"",          "/etc/passwd", "../x",
                                     "a/../../x", "a//b",        "./a",
                                     "a/.",       "a\\b",        std::string_view("a\0b", 3)};
    for (std::string_view bad : bads) {
        auto ok = check_relative_path(bad);
        ASSERT_FALSE(ok) << bad;
        EXPECT_NE(ok.error().message().find("stay inside its directory"), std::string::npos);
    }
}

class ManifestTest : public ::testing::Test {
  protected:
    testing::TempDir dir_{"dora-deploy-test"};
    fs::path flow() { return dir_.path() / "flow"; }
    void write(const std::string& rel, const std::string& text) {
        fs::create_directories((flow() / rel).parent_path());
        std::ofstream(flow() / rel) << text;
    }
};

TEST_F(ManifestTest, ListsWhatIsKeptWithHashesSizesAndModes) {
    write("dataflow.yml", "nodes: []\n");
    write("nodes/sensor.py", "print('hi')\n");
    write("nodes/run.sh", "#!/bin/sh\n");
    fs::permissions(flow() / "nodes/run.sh", fs::perms::owner_exec, fs::perm_options::add);
    write(".git/config", "x");
    write("out/0190/log_a.txt", "log");
    write("big.bin", "0123456789");
    write(".doraignore", "*.bin\n");
    fs::create_symlink("nodes/sensor.py", flow() / "alias.py");
    auto manifest = build_manifest(flow());
    ASSERT_TRUE(manifest) << manifest.error().message();
    std::vector<std::string> paths;
    for (const auto& f : manifest->files) paths.push_back(f.path);
    EXPECT_EQ(paths, (std::vector<std::string>{".doraignore", "alias.py", "dataflow.yml",
                                               "nodes/run.sh", "nodes/sensor.py"}));
    const auto& sensor = manifest->files[4];
    EXPECT_EQ(sensor.sha256, sha256_hex(bytes_of("print('hi')\n")));
    EXPECT_EQ(sensor.size, 12u);
    EXPECT_FALSE(sensor.executable);
    EXPECT_TRUE(manifest->files[3].executable);
    EXPECT_EQ(manifest->files[1].sha256, sensor.sha256);  // the link ships its target's content
    // SHA-256 of "abc" (FIPS 180-2).
    EXPECT_EQ(sha256_hex(bytes_of("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ManifestTest, SymlinksOutOfTheDirectoryAndToDirectoriesAreRefused) {
    write("dataflow.yml", "nodes: []\n");
    write("../secret.txt", "s");
    fs::create_symlink(dir_.path() / "secret.txt", flow() / "leak.txt");
    auto out = build_manifest(flow());
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message().find("leak.txt is a symlink to"), std::string::npos);
    EXPECT_NE(out.error().message().find("outside the dataflow's directory"), std::string::npos);
    fs::remove(flow() / "leak.txt");
    fs::create_directories(flow() / "real");
    fs::create_directory_symlink("real", flow() / "linked");
    auto dir_link = build_manifest(flow());
    ASSERT_FALSE(dir_link);
    EXPECT_NE(dir_link.error().message().find("symlink to a directory"), std::string::npos);
    write(".doraignore", "linked\n");  // left out on purpose: fine
    EXPECT_TRUE(build_manifest(flow()));
}

TEST_F(ManifestTest, OverTheLimitNamesTheLargestFiles) {
    write("dataflow.yml", "nodes: []\n");
    write("model.onnx", std::string(3000, 'm'));
    write("weights.npy", std::string(2000, 'w'));
    auto out = build_manifest(flow(), ManifestLimits{4000, 100});
    ASSERT_FALSE(out);
    const auto& text = out.error().message();
    EXPECT_NE(text.find("more than the limit of 4000 bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("model.onnx (3000 bytes), weights.npy (2000 bytes)"), std::string::npos)
        << text;
    EXPECT_NE(text.find(".doraignore"), std::string::npos);
}

TEST_F(ManifestTest, JsonRoundTripAndHostileManifestsAreRefused) {
    write("dataflow.yml", "nodes: []\n");
    auto manifest = build_manifest(flow()).value();
    auto back = manifest_from_json(to_json(manifest));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->files.size(), 1u);
    EXPECT_EQ(back->files[0].sha256, manifest.files[0].sha256);
    auto with = [](nlohmann::json entry) { return nlohmann::json{{"files", {entry}}}; };
    const std::string h(64, 'a');
    EXPECT_FALSE(manifest_from_json(with({{"path", "../x"}, {"sha256", h}, {"size", 1}})));
    EXPECT_FALSE(manifest_from_json(with({{"path", "/etc/x"}, {"sha256", h}, {"size", 1}})));
    EXPECT_FALSE(manifest_from_json(with({{"path", "x"}, {"sha256", "../../x"}, {"size", 1}})));
    EXPECT_FALSE(manifest_from_json(nlohmann::json{{"files", 3}}));
    nlohmann::json twice = {{"files",
                             {{{"path", "x"}, {"sha256", h}, {"size", 1}},
                              {{"path", "x"}, {"sha256", h}, {"size", 1}}}}};
    EXPECT_FALSE(manifest_from_json(twice));
}

TEST_F(ManifestTest, TheStoreVerifiesAndMaterializesOnlyInsideTheTarget) {
    write("dataflow.yml", "nodes: []\n");
    write("nodes/a.py", "print(1)\n");
    auto manifest = build_manifest(flow()).value();
    auto store = FileStore::open(dir_.path() / "store").value();
    auto missing = store.missing(manifest);
    EXPECT_EQ(missing.size(), 2u);
    // A changed file is refused on arrival.
    auto bad = store.put(manifest.files[1].sha256, bytes_of("print(2)\n"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("changed while it was sent"), std::string::npos);
    ASSERT_TRUE(store.put(manifest.files[0].sha256, bytes_of("nodes: []\n")));
    // Not everything there yet: nothing is materialized past the gap.
    EXPECT_FALSE(store.materialize(manifest, dir_.path() / "early"));
    ASSERT_TRUE(store.put(manifest.files[1].sha256, bytes_of("print(1)\n")));
    EXPECT_TRUE(store.missing(manifest).empty());
    const auto target = dir_.path() / "work" / "flow-copy";
    ASSERT_TRUE(store.materialize(manifest, target));
    EXPECT_EQ(read(target / "nodes/a.py"), "print(1)\n");
    EXPECT_FALSE(store.materialize(manifest, target));  // never into an existing directory
    // A manifest that would write outside: refused, nothing written there.
    Manifest hostile{{FileEntry{"../escaped.txt", manifest.files[1].sha256, 9, false}}};
    auto escaped = store.materialize(hostile, dir_.path() / "work" / "other");
    ASSERT_FALSE(escaped);
    EXPECT_FALSE(fs::exists(dir_.path() / "work" / "escaped.txt"));
    // A file where a directory is needed.
    Manifest collide{{FileEntry{"a", manifest.files[1].sha256, 9, false},
                      FileEntry{"a/b", manifest.files[1].sha256, 9, false}}};
    EXPECT_FALSE(store.materialize(collide, dir_.path() / "work" / "collide"));
}

TEST(Base64, RoundTripsEveryLengthAndRefusesOtherText) {
    std::string bytes;
    for (int n = 0; n < 7; ++n) {
        auto text = base64_encode(bytes_of(bytes));
        auto back = base64_decode(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(back->data()), back->size()), bytes);
        bytes.push_back(static_cast<char>(0xf0 + n));
    }
    EXPECT_EQ(base64_encode(bytes_of("dora")), "ZG9yYQ==");
    EXPECT_FALSE(base64_decode("ZG9yYQ="));    // not a multiple of 4
    EXPECT_FALSE(base64_decode("ZG9y YQ=="));  // not the alphabet
    EXPECT_FALSE(base64_decode("Z=9yYQ=="));   // padding inside
}

TEST_F(ManifestTest, ChunksGatherOnDiskAndEnterTheStoreOnlyWholeAndVerified) {
    auto store = FileStore::open(dir_.path() / "store").value();
    const std::string content = "0123456789";
    const std::string hash = sha256_hex(bytes_of(content));
    auto first = store.receive(hash, 10, 0, bytes_of("01234"));
    ASSERT_TRUE(first);
    EXPECT_FALSE(*first);
    EXPECT_FALSE(store.has(hash));
    auto last = store.receive(hash, 10, 5, bytes_of("56789"));
    ASSERT_TRUE(last);
    EXPECT_TRUE(*last);
    EXPECT_TRUE(store.has(hash));
    EXPECT_EQ(read(store.dir() / hash), content);
    // An empty file is one empty chunk.
    auto empty = store.receive(sha256_hex({}), 0, 0, {});
    ASSERT_TRUE(empty && *empty);
}

TEST_F(ManifestTest, AChunkOutOfOrderOrAChangedFileIsRefusedAndLeavesNothing) {
    auto store = FileStore::open(dir_.path() / "store").value();
    const std::string hash = sha256_hex(bytes_of("0123456789"));
    auto gap = store.receive(hash, 10, 5, bytes_of("56789"));
    ASSERT_FALSE(gap);
    EXPECT_NE(gap.error().message().find("offset 5"), std::string::npos) << gap.error().message();
    ASSERT_TRUE(store.receive(hash, 10, 0, bytes_of("01234")));
    auto changed = store.receive(hash, 10, 5, bytes_of("5678X"));
    ASSERT_FALSE(changed);
    EXPECT_NE(changed.error().message().find("changed while it was sent"), std::string::npos);
    EXPECT_FALSE(store.has(hash));
    EXPECT_FALSE(fs::exists(store.dir() / (hash + ".part")));
    auto longer = store.receive(hash, 10, 0, bytes_of("0123456789AB"));
    ASSERT_FALSE(longer);
    EXPECT_NE(longer.error().message().find("longer than the 10 bytes"), std::string::npos);
}

}  // namespace
}  // namespace dora::deploy
