// Runs the real `dora` binary on the fixture dataflows in tests/fixtures/dataflows and checks
// exit codes and the key lines of its output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/testing/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

struct Outcome {
    int status = -1;
    std::string out;
    std::string err;
};

std::string slurp(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

using dora::testing::TempDir;

// Runs `dora args...` in `cwd`, capturing stdout and stderr through files (no pipe deadlocks).
Outcome run_dora(const std::vector<std::string>& args, const fs::path& cwd = fs::current_path()) {
    TempDir capture;
    fs::path out_file = capture.path() / "out";
    fs::path err_file = capture.path() / "err";
    std::vector<std::string> argv_storage = {DORA_CLI_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid == 0) {
        int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 ||
            ::chdir(cwd.c_str()) != 0) {
            ::_exit(127);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    Outcome outcome;
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
        outcome.status = WEXITSTATUS(status);
    }
    outcome.out = slurp(out_file);
    outcome.err = slurp(err_file);
    return outcome;
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
        {"operator.yml", "not supported by dora-cpp"},
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
    std::string html = slurp(page);
    EXPECT_CONTAINS(html, "<pre class=\"mermaid\">");
    EXPECT_CONTAINS(html, "sensor -- reading --&gt; printer");
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
    EXPECT_CONTAINS(slurp(project / "CMakeLists.txt"), "find_package(dora REQUIRED)");
    EXPECT_CONTAINS(slurp(project / "CMakeLists.txt"), "dora::node");
    EXPECT_CONTAINS(slurp(project / "CMakeLists.txt"), "project(my-flow");
    EXPECT_CONTAINS(slurp(project / "listener.py"), "from dora import Node");
    EXPECT_CONTAINS(slurp(project / "talker.cpp"), "#include <dora/node.hpp>");

    Outcome checked = run_dora({"check", "--dataflow", "dataflow.yml"}, project);
    EXPECT_EQ(checked.status, 0) << checked.err;

    Outcome again = run_dora({"new", "my-flow"}, dir.path());
    EXPECT_EQ(again.status, 1);
    EXPECT_CONTAINS(again.err, "already exists");
}

TEST(DoraNew, UnsupportedKindIsAnError) {
    TempDir dir;
    Outcome result = run_dora({"new", "x", "--kind", "node"}, dir.path());
    EXPECT_EQ(result.status, 1);
    EXPECT_CONTAINS(result.err, "--kind dataflow");
    EXPECT_FALSE(fs::exists(dir.path() / "x"));
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

TEST(DoraUsage, UnknownVerbOrMissingVerbExitsOne) {
    Outcome unknown = run_dora({"frobnicate"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_NE(unknown.err, "");
    EXPECT_EQ(run_dora({}).status, 1);
}

}  // namespace
