// Node sources: clone directory names, download cache keys, build plans and the resolution of
// fetched files (the fetching itself runs git and curl: tests/integration/node_sources_test.sh).
#include "daemon/node_source.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/env.hpp"
#include "testing/temp_dir.hpp"

namespace dora::daemon {
namespace {

namespace fs = std::filesystem;

GitSource git(std::string repo, std::optional<std::string> branch = std::nullopt,
              std::optional<std::string> tag = std::nullopt,
              std::optional<std::string> rev = std::nullopt) {
    return GitSource{std::move(repo), std::move(branch), std::move(tag), std::move(rev)};
}

Descriptor parse(const std::string& yaml, const fs::path& file) {
    auto d = parse_descriptor(yaml, file);
    EXPECT_TRUE(d) << (d ? "" : d.error().message());
    return d ? *d : Descriptor{};
}

bool everywhere(const NodeDescriptor&) { return true; }

TEST(NodeSource, CloneDirectoryIsPerDataflowRepositoryAndRevision) {
    const fs::path root = "/data";
    auto main = git_clone_dir(root, "flow", git("https://example.com/org/node.git", "main"));
    EXPECT_EQ(main, fs::path("/data/out/git/flow/node-" +
                             short_hash("https://example.com/org/node.git") + "/branch-main"));
    EXPECT_EQ(main, git_clone_dir(root, "flow", git("https://example.com/org/node.git", "main")));
    EXPECT_NE(main, git_clone_dir(root, "other", git("https://example.com/org/node.git", "main")));
    EXPECT_NE(main, git_clone_dir(root, "flow", git("https://example.org/org/node.git", "main")));
    EXPECT_NE(main, git_clone_dir(root, "flow", git("https://example.com/org/node.git", "dev")));
    EXPECT_EQ(git_clone_dir(root, "flow", git("file:///srv/repo")).filename(), "default");
}

TEST(NodeSource, RevisionLabelsNameTheKindAndKeepLookAlikeNamesApart) {
    EXPECT_EQ(git_revision_label(git("r", "main")), "branch-main");
    EXPECT_EQ(git_revision_label(git("r", std::nullopt, "v1.0")), "tag-v1.0");
    EXPECT_EQ(git_revision_label(git("r", std::nullopt, std::nullopt, "1a2b3c")), "rev-1a2b3c");
    std::string slashed = git_revision_label(git("r", "feature/x"));
    EXPECT_EQ(slashed.find('/'), std::string::npos) << slashed;
    EXPECT_NE(slashed, git_revision_label(git("r", "feature_x")));
    EXPECT_NE(git_revision_label(git("r", "..")), "branch-..");
}

TEST(NodeSource, DescriptionsNameRepositoryAndRevision) {
    EXPECT_EQ(describe_git_source(git("file:///srv/r.git", std::nullopt, "v2")),
              "file:///srv/r.git (tag v2)");
    EXPECT_EQ(describe_git_source(git("file:///srv/r.git")), "file:///srv/r.git (default branch)");
}

TEST(NodeSource, DownloadCacheFileIsKeyedByTheUrlAndKeepsItsFileName) {
    const fs::path cache = "/cache";
    auto file = download_cache_file(cache, "http://127.0.0.1:8000/nodes/talker.py?raw=1#x");
    EXPECT_EQ(file,
              cache / short_hash("http://127.0.0.1:8000/nodes/talker.py?raw=1#x") / "talker.py");
    EXPECT_NE(file.parent_path(),
              download_cache_file(cache, "http://127.0.0.1:8000/nodes/talker.py").parent_path());
    EXPECT_EQ(download_cache_file(cache, "https://example.com").filename(), "node");
    EXPECT_EQ(download_cache_file(cache, "https://example.com/dir/").filename(), "node");
    auto dots = download_cache_file(cache, "https://example.com/a/..");
    EXPECT_EQ(dots.parent_path().parent_path(), cache) << dots;
    EXPECT_NE(dots.filename(), "..");
}

TEST(NodeSource, TheDownloadCacheFollowsXdgCacheHomeThenHome) {
    {
        testing::ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
        EXPECT_EQ(*download_cache_root(), fs::path("/xdg/dora-cpp/downloads"));
    }
    testing::ScopedEnv xdg("XDG_CACHE_HOME", std::nullopt);
    testing::ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(*download_cache_root(), fs::path("/home/u/.cache/dora-cpp/downloads"));
    testing::ScopedEnv no_home("HOME", std::nullopt);
    EXPECT_FALSE(download_cache_root());
}

TEST(NodeSource, ABuildClonesEachRepositoryOnceThenBuildsItsNodesInTheClone) {
    testing::TempDir dir;
    auto d = parse(R"(nodes:
  - {id: a, path: a.sh, git: "file:///srv/r.git", branch: main, build: make a}
  - {id: b, path: b.sh, git: "file:///srv/r.git", branch: main, build: make b}
  - {id: c, path: c.sh, git: "file:///srv/r.git", tag: v1}
  - {id: d, path: shell, args: "true", build: make d}
  - {id: e, path: "http://127.0.0.1:1/e.py"}
  - {id: f, path: "http://127.0.0.1:1/e.py"}
)",
                   dir.path() / "flow.yml");
    auto steps = plan_build(d, everywhere, {dir.path(), dir.path() / "cache"});
    std::vector<std::string> seen;
    for (const auto& step : steps) seen.push_back(step.node_id + ":" + step.command);
    EXPECT_EQ(seen, (std::vector<std::string>{
                        "e:download of http://127.0.0.1:1/e.py",
                        "a:git checkout of file:///srv/r.git (branch main)", "a:make a", "b:make b",
                        "c:git checkout of file:///srv/r.git (tag v1)", "d:make d"}));
    auto main = git_clone_dir(dir.path(), "flow", git("file:///srv/r.git", "main"));
    EXPECT_EQ(steps[1].target, main);
    EXPECT_EQ(steps[2].working_dir, main);
    EXPECT_EQ(steps[3].working_dir, main);
    EXPECT_EQ(steps[5].working_dir, dir.path());
    EXPECT_EQ(steps[0].target,
              download_cache_file(dir.path() / "cache", "http://127.0.0.1:1/e.py"));
}

TEST(NodeSource, CachedDownloadsAreNotFetchedAgain) {
    testing::TempDir dir;
    auto d =
        parse("nodes:\n  - {id: e, path: \"http://127.0.0.1:1/e.py\"}\n", dir.path() / "flow.yml");
    SourcePlaces places{dir.path(), dir.path() / "cache"};
    ASSERT_EQ(plan_downloads(d, everywhere, places).size(), 1u);
    auto file = download_cache_file(places.cache_root, "http://127.0.0.1:1/e.py");
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "print('hi')\n";
    EXPECT_TRUE(plan_downloads(d, everywhere, places).empty());
    ASSERT_TRUE(resolve_fetched_sources(d, everywhere, places));
    EXPECT_EQ(d.nodes[0].path, file.string());
}

TEST(NodeSource, AGitNodeNeverBuiltIsRefusedNamingNodeRepositoryAndTheFix) {
    testing::TempDir dir;
    auto d = parse("nodes:\n  - {id: talker, path: talk.sh, git: \"file:///srv/r.git\", tag: v1}\n",
                   dir.path() / "flow.yml");
    auto ok = resolve_fetched_sources(d, everywhere, {dir.path(), {}});
    ASSERT_FALSE(ok);
    const std::string& message = ok.error().message();
    EXPECT_NE(message.find("node talker"), std::string::npos) << message;
    EXPECT_NE(message.find("file:///srv/r.git (tag v1)"), std::string::npos) << message;
    EXPECT_NE(message.find("run `dora build`"), std::string::npos) << message;
}

TEST(NodeSource, AFetchedGitNodeRunsFromItsClone) {
    testing::TempDir dir;
    auto d = parse(
        "nodes:\n  - {id: a, path: bin/talk.sh, git: \"file:///srv/r.git\"}\n"
        "  - {id: b, path: python3, git: \"file:///srv/r.git\"}\n",
        dir.path() / "flow.yml");
    auto clone = git_clone_dir(dir.path(), "flow", git("file:///srv/r.git"));
    fs::create_directories(clone / ".git");
    ASSERT_TRUE(resolve_fetched_sources(d, everywhere, {dir.path(), {}}));
    EXPECT_EQ(d.nodes[0].path, (clone / "bin/talk.sh").string());
    EXPECT_EQ(d.nodes[0].checkout_dir, clone);
    EXPECT_EQ(d.nodes[1].path, "python3");  // not in the clone: found on PATH at spawn
    EXPECT_EQ(d.nodes[1].checkout_dir, clone);
}

TEST(NodeSource, NodesOfOtherMachinesAreLeftAlone) {
    testing::TempDir dir;
    auto d = parse("nodes:\n  - {id: a, path: a.sh, git: \"file:///srv/r.git\", build: make}\n",
                   dir.path() / "flow.yml");
    auto nowhere = [](const NodeDescriptor&) { return false; };
    EXPECT_TRUE(plan_build(d, nowhere, {dir.path(), {}}).empty());
    EXPECT_TRUE(resolve_fetched_sources(d, nowhere, {dir.path(), {}}));
}

}  // namespace
}  // namespace dora::daemon
