// Runs the real `dora` binary on the fixture dataflows in tests/fixtures/dataflows and checks
// exit codes and the key lines of its output. Every run points the CLI at a loopback port where
// nothing listens (DORA_COORDINATOR_PORT), so a coordinator running on this machine (6012) cannot
// change what a verb does.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "testing/ports.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dora::testing::contains;
using dora::testing::read_file;
using dora::testing::TempDir;

#define EXPECT_CONTAINS(haystack, needle) EXPECT_TRUE(contains(haystack, needle))

struct Outcome {
    int status = -1;
    std::string out;
    std::string err;
};

// Runs `dora args...` in `cwd` with `env` changes; the coordinator is a port where nothing
// listens unless `env` says otherwise.
Outcome run_dora(const std::vector<std::string>& args, const fs::path& cwd = fs::current_path(),
                 std::map<std::string, std::optional<std::string>> env = {}) {
    static const uint16_t nobody = dora::testing::free_tcp_port();
    env.try_emplace("DORA_COORDINATOR_ADDR", "127.0.0.1");
    env.try_emplace("DORA_COORDINATOR_PORT", std::to_string(nobody));
    std::vector<std::string> argv = {DORA_CLI_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    dora::testing::Process dora(argv, {.cwd = cwd, .env = env});
    int status = dora.wait(30s);
    return {dora::testing::exit_code(status), dora.out(), dora.err()};
}

std::string fixture(const std::string& name) { return std::string(DORA_FIXTURES_DIR) + "/" + name; }

TEST(DoraCheck, ValidDataflowPassesWithFlagOrPositionalPath) {
    for (const auto& args : {std::vector<std::string>{"check", "--dataflow", fixture("valid.yml")},
                             std::vector<std::string>{"check", fixture("valid.yml")}}) {
        Outcome result = run_dora(args);
        EXPECT_EQ(result.status, 0) << result.err;
        EXPECT_CONTAINS(result.out, "valid.yml: dataflow is valid (3 nodes)");
        EXPECT_EQ(result.err, "");
    }
}

struct BrokenCase {
    const char* file;
    const char* message;
};

TEST(DoraCheck, BrokenDataflowsExitOneAndSayWhereAndWhat) {
    const BrokenCase cases[] = {
        {"missing_output.yml",
         "missing_output.yml:10:13: node \"sink\": input \"data\" reads from \"src/out\" but node "
         "\"src\" has no output \"out\" (its outputs: a, b); add \"out\" to its outputs"},
        {"unknown_key.yml", "unknown_key.yml:4:5: node \"sensor\": unknown key `ouputs`"},
        {"bad_timer.yml", "bad_timer.yml:5:13: node \"ticker\": bad timer \"dora/timer/millis/0\""},
        {"duplicate_ids.yml", "duplicate_ids.yml:4:5: node \"twin\": duplicate node id"},
        {"missing_executable.yml", "node \"ghost\": "},
        {"invalid_yaml.yml", "invalid YAML"},
        {"operator.yml", "`wasm` operators are not supported by dora-cpp"},
    };
    for (const auto& broken : cases) {
        Outcome result = run_dora({"check", "--dataflow", fixture(broken.file)});
        EXPECT_EQ(result.status, 1) << broken.file;
        EXPECT_CONTAINS(result.err, "error: dataflow ");
        EXPECT_CONTAINS(result.err, broken.message);
        EXPECT_EQ(result.out, "") << broken.file;
    }
}

TEST(DoraCheck, ReportsEveryProblemAtOnce) {
    Outcome result = run_dora({"check", "--dataflow", fixture("many_problems.yml")});
    EXPECT_EQ(result.status, 1);
    EXPECT_CONTAINS(result.err, "is not valid (3 problems)");
    EXPECT_CONTAINS(result.err, "duplicate node id");
    EXPECT_CONTAINS(result.err, "output \"x\" is listed twice");
    EXPECT_CONTAINS(result.err, "there is no node \"nobody\"");
}

TEST(DoraCheck, MissingFileAndMissingArgumentSayWhatToDo) {
    Outcome missing = run_dora({"check", "--dataflow", "/nonexistent/flow.yml"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_CONTAINS(missing.err, "cannot open dataflow file /nonexistent/flow.yml");
    Outcome none = run_dora({"check"});
    EXPECT_EQ(none.status, 1);
    EXPECT_CONTAINS(none.err, "dora check --dataflow");
}

TEST(DoraGraph, MermaidPrintsTheFlowchart) {
    Outcome result = run_dora({"graph", fixture("valid.yml"), "--mermaid"});
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_CONTAINS(result.out, "flowchart TB\n");
    EXPECT_CONTAINS(result.out, "  dora/timer/millis/100 -- tick --> sensor\n");
    EXPECT_CONTAINS(result.out, "  sensor -- reading --> printer\n");
    EXPECT_CONTAINS(result.out, "  sensor -- reading as value --> viewer\n");
}

TEST(DoraGraph, DefaultWritesAnHtmlPageNextToTheDataflow) {
    TempDir dir;
    fs::copy_file(fixture("valid.yml"), dir.path() / "flow.yml");
    Outcome result = run_dora({"graph", "flow.yml"}, dir.path());
    EXPECT_EQ(result.status, 0) << result.err;
    fs::path page = dir.path() / "flow.html";
    EXPECT_CONTAINS(result.out, "file://" + page.string());
    std::string html = read_file(page);
    EXPECT_CONTAINS(html, "DoraGraph.render(");
    EXPECT_CONTAINS(html, "\"from\":\"sensor/reading\"");
    EXPECT_CONTAINS(html, "\"to\":\"printer/");
    EXPECT_EQ(html.find("src=\"http"), std::string::npos) << "the page loads nothing";
}

TEST(DoraGraph, BrokenYamlIsAnError) {
    Outcome result = run_dora({"graph", fixture("invalid_yaml.yml"), "--mermaid"});
    EXPECT_EQ(result.status, 1);
    EXPECT_CONTAINS(result.err, "invalid YAML");
}

TEST(DoraNew, ScaffoldsAProjectThatChecksAndRefusesToOverwrite) {
    TempDir dir;
    Outcome created = run_dora({"new", "my-flow"}, dir.path());
    EXPECT_EQ(created.status, 0) << created.err;
    fs::path project = dir.path() / "my-flow";
    for (const char* file :
         {"dataflow.yml", "talker.cpp", "CMakeLists.txt", "listener.py", "README.md"}) {
        EXPECT_TRUE(fs::exists(project / file)) << file;
    }
    EXPECT_CONTAINS(read_file(project / "CMakeLists.txt"), "find_package(dora REQUIRED)");
    EXPECT_CONTAINS(read_file(project / "CMakeLists.txt"), "dora::node");
    EXPECT_CONTAINS(read_file(project / "CMakeLists.txt"), "project(my-flow");
    EXPECT_CONTAINS(read_file(project / "listener.py"), "from dora import Node");
    EXPECT_CONTAINS(read_file(project / "talker.cpp"), "#include <dora/node.hpp>");

    Outcome checked = run_dora({"check", "--dataflow", "dataflow.yml"}, project);
    EXPECT_EQ(checked.status, 0) << checked.err;

    Outcome again = run_dora({"new", "my-flow"}, dir.path());
    EXPECT_EQ(again.status, 1);
    EXPECT_CONTAINS(again.err, "already exists");
}

TEST(DoraNew, UnsupportedKindOrLanguageIsAnError) {
    TempDir dir;
    Outcome kind = run_dora({"new", "x", "--kind", "operator"}, dir.path());
    EXPECT_EQ(kind.status, 1);
    EXPECT_CONTAINS(kind.err, "creates a `dataflow` (the default) or a `node`");
    Outcome rust = run_dora({"new", "x", "--lang", "rust"}, dir.path());
    EXPECT_EQ(rust.status, 1);
    EXPECT_CONTAINS(rust.err, "runs no Rust nodes");
    EXPECT_FALSE(fs::exists(dir.path() / "x"));
}

TEST(DoraNew, EachLanguageScaffoldsItsNodes) {
    TempDir dir;
    const std::map<std::string, std::vector<std::string>> files = {
        {"python", {"talker.py", "listener.py"}},
        {"c", {"talker.c", "listener.c", "CMakeLists.txt"}},
        {"cxx", {"talker.cpp", "listener.cpp", "CMakeLists.txt"}}};
    for (const auto& [lang, names] : files) {
        Outcome created = run_dora({"new", "p-" + lang, "--lang", lang}, dir.path());
        EXPECT_EQ(created.status, 0) << created.err;
        for (const auto& name : names) {
            EXPECT_TRUE(fs::exists(dir.path() / ("p-" + lang) / name)) << lang << ": " << name;
        }
    }
    EXPECT_CONTAINS(read_file(dir.path() / "p-c" / "talker.c"), "#include <dora/node_api.h>");
    EXPECT_CONTAINS(read_file(dir.path() / "p-c" / "CMakeLists.txt"), "LANGUAGES C)");
    Outcome node = run_dora({"new", "relay", "--kind", "node"}, dir.path());
    EXPECT_EQ(node.status, 0) << node.err;
    EXPECT_TRUE(fs::exists(dir.path() / "relay" / "relay.py"));
    EXPECT_CONTAINS(node.out, "path: relay/relay.py");
}

TEST(DoraVersion, VerbAndFlagPrintTheVersion) {
    std::string expected = std::string("dora-cpp ") + DORA_EXPECTED_VERSION + "\n";
    EXPECT_EQ(run_dora({"version"}).out, expected);
    Outcome flag = run_dora({"--version"});
    EXPECT_EQ(flag.status, 0);
    EXPECT_EQ(flag.out, expected);
}

TEST(DoraHelp, EveryVerbHasHelp) {
    for (const char* verb : {"check", "graph", "new", "version"}) {
        Outcome result = run_dora({verb, "--help"});
        EXPECT_EQ(result.status, 0) << verb;
        EXPECT_CONTAINS(result.out, "Usage");
    }
    Outcome top = run_dora({"--help"});
    EXPECT_EQ(top.status, 0);
    EXPECT_CONTAINS(top.out, "check");
}

TEST(DoraClient, CoordinatorAddressAndPortComeFromTheEnvironmentUnlessGiven) {
    std::string port = std::to_string(dora::testing::free_tcp_port());
    Outcome from_env =
        run_dora({"list"}, fs::current_path(),
                 {{"DORA_COORDINATOR_ADDR", "localhost"}, {"DORA_COORDINATOR_PORT", port}});
    EXPECT_EQ(from_env.status, 1);
    EXPECT_CONTAINS(from_env.err, "coordinator at localhost:" + port);
    Outcome given =
        run_dora({"list", "--coordinator-addr", "127.0.0.1", "--coordinator-port", port},
                 fs::current_path(), {{"DORA_COORDINATOR_PORT", "1"}});
    EXPECT_EQ(given.status, 1);
    EXPECT_CONTAINS(given.err, "coordinator at 127.0.0.1:" + port);
}

TEST(DoraUsage, UnknownVerbOrMissingVerbExitsOne) {
    Outcome unknown = run_dora({"frobnicate"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_NE(unknown.err, "");
    EXPECT_EQ(run_dora({}).status, 1);
}

}  // namespace
