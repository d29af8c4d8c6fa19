#include "core/descriptor.hpp"

#include <gtest/gtest.h>

#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace dora {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

Descriptor parse_ok(std::string_view yaml) {
    auto parsed = parse_descriptor(yaml, "dataflow.yml");
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message());
    return parsed ? *parsed : Descriptor{};
}

std::string parse_error(std::string_view yaml) {
    auto parsed = parse_descriptor(yaml, "dataflow.yml");
    EXPECT_FALSE(parsed) << "expected a parse error for:\n" << yaml;
    return parsed ? "" : parsed.error().message();
}

// Parses (must succeed) and validates without path checks (must fail); returns the message.
std::string validation_error(std::string_view yaml, ValidationOptions options = {false}) {
    Descriptor descriptor = parse_ok(yaml);
    auto valid = validate(descriptor, options);
    EXPECT_FALSE(valid) << "expected a validation error for:\n" << yaml;
    return valid ? "" : valid.error().message();
}

size_t line_count(const std::string& text) {
    return text.empty() ? 0 : static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

#define EXPECT_CONTAINS(haystack, needle) EXPECT_TRUE(dora::testing::contains(haystack, needle))

using dora::testing::TempDir;

constexpr std::string_view kEveryFeature = R"(
communication:
  _unstable_local: shmem
_unstable_debug:
  publish_all_messages_to_zenoh: false
deploy:
  machine: cloud
  working_dir: /srv/dora
nodes:
  - id: sensor
    name: Temperature sensor
    description: Reads the temperature
    path: ./sensor
    args: --rate 10 --name "edge one"
    env:
      TEXT: hello
      QUOTED: "007"
      INTEGER: 007
      FLOAT: 1.50
      BOOL: True
      HOME_DIR: $HOME/data
    build: cmake --build build
    outputs:
      - reading
      - log
    send_stdout_as: log
    _unstable_deploy:
      machine: edge1
    restart_policy: on-failure
    max_restarts: 3
  - id: aggregator
    path: aggregator.py
    inputs:
      reading: sensor/reading
      tick: dora/timer/millis/100
      slow: dora/timer/secs/2
      fast: dora/timer/hz/50
      queued:
        source: sensor/log
        queue_size: 1000
    outputs: [summary]
    deploy:
      working_dir: /tmp/agg
    restart_policy: always
  - id: script
    path: shell
    args: echo hi
    restart_policy: never
  - id: external
    path: nodes/external.py
    git: https://example.com/repo.git
    branch: main
)";

TEST(ParseDescriptor, DataflowWithEveryFeatureParsesToTheModel) {
    Descriptor d = parse_ok(kEveryFeature);
    ASSERT_EQ(d.nodes.size(), 4u);
    EXPECT_EQ(d.source_file, fs::absolute("dataflow.yml").lexically_normal());
    EXPECT_EQ(d.base_dir, fs::current_path());
    ASSERT_TRUE(d.deploy);
    EXPECT_EQ(d.deploy->machine, "cloud");
    EXPECT_EQ(d.deploy->working_dir, "/srv/dora");

    const NodeDescriptor& sensor = d.nodes[0];
    EXPECT_EQ(sensor.id, "sensor");
    EXPECT_EQ(sensor.name, "Temperature sensor");
    EXPECT_EQ(sensor.description, "Reads the temperature");
    EXPECT_EQ(sensor.path, "./sensor");
    EXPECT_EQ(sensor.kind, NodeKind::kExecutable);
    EXPECT_EQ(sensor.args, R"(--rate 10 --name "edge one")");
    EXPECT_EQ(sensor.build, "cmake --build build");
    EXPECT_EQ(sensor.outputs, (std::vector<std::string>{"reading", "log"}));
    EXPECT_EQ(sensor.send_stdout_as, "log");
    EXPECT_EQ(sensor.deploy.machine, "edge1");
    EXPECT_EQ(sensor.restart_policy, RestartPolicy::kOnFailure);
    EXPECT_EQ(sensor.max_restarts, 3u);
    EXPECT_EQ(sensor.location.line, 10);
    EXPECT_EQ(sensor.location.column, 5);
    EXPECT_EQ(sensor.location_of("path").line, 13);
    Deploy sensor_deploy = d.effective_deploy(sensor);
    EXPECT_EQ(sensor_deploy.machine, "edge1");
    EXPECT_EQ(sensor_deploy.working_dir, "/srv/dora");

    const std::map<std::string, std::string> env = {{"TEXT", "hello"}, {"QUOTED", "007"},
                                                    {"INTEGER", "7"},  {"FLOAT", "1.5"},
                                                    {"BOOL", "true"},  {"HOME_DIR", "$HOME/data"}};
    EXPECT_EQ(sensor.env, env);

    const NodeDescriptor& aggregator = d.nodes[1];
    EXPECT_EQ(aggregator.kind, NodeKind::kPython);
    EXPECT_EQ(aggregator.restart_policy, RestartPolicy::kAlways);
    EXPECT_EQ(aggregator.deploy.working_dir, "/tmp/agg");
    EXPECT_EQ(d.effective_deploy(aggregator).machine, "cloud");
    ASSERT_EQ(aggregator.inputs.size(), 5u);
    EXPECT_EQ(aggregator.inputs[0].id, "reading");
    EXPECT_EQ(aggregator.inputs[0].source, InputSource(NodeOutputSource{"sensor", "reading"}));
    EXPECT_EQ(aggregator.inputs[0].queue_size, kDefaultQueueSize);
    EXPECT_EQ(aggregator.inputs[1].source,
              InputSource(TimerSource{100ms, "dora/timer/millis/100"}));
    EXPECT_EQ(aggregator.inputs[2].source, InputSource(TimerSource{2s, "dora/timer/secs/2"}));
    EXPECT_EQ(aggregator.inputs[3].source, InputSource(TimerSource{20ms, "dora/timer/hz/50"}));
    EXPECT_EQ(aggregator.inputs[4].source, InputSource(NodeOutputSource{"sensor", "log"}));
    EXPECT_EQ(aggregator.inputs[4].queue_size, 1000u);
    EXPECT_EQ(format_input_source(aggregator.inputs[1].source), "dora/timer/millis/100");

    EXPECT_EQ(d.nodes[2].kind, NodeKind::kShell);
    EXPECT_EQ(d.nodes[2].restart_policy, RestartPolicy::kNever);
    const NodeDescriptor& external = d.nodes[3];
    EXPECT_EQ(external.kind, NodeKind::kPython);
    ASSERT_TRUE(external.git);
    EXPECT_EQ(external.git->repo, "https://example.com/repo.git");
    EXPECT_EQ(external.git->branch, "main");

    EXPECT_EQ(d.find_node("aggregator"), &d.nodes[1]);
    EXPECT_EQ(d.find_node("nope"), nullptr);
    EXPECT_TRUE(validate(d, {.check_paths = false})) << validate(d, {false}).error().message();
}

TEST(ParseDescriptor, UnknownNodeKeyNamesKeyFileLineAndColumn) {
    std::string error = parse_error("nodes:\n  - id: a\n    path: shell\n    inptus: {}\n");
    EXPECT_CONTAINS(error, "dataflow.yml:4:5: node \"a\": unknown key `inptus`");
    EXPECT_CONTAINS(error, "did you mean `inputs`?");
}

TEST(ParseDescriptor, UnknownTopLevelKeyIsAnError) {
    std::string error = parse_error("nodes: []\nmachines: [a]\n");
    EXPECT_CONTAINS(error, "dataflow.yml:2:1: unknown key `machines` at the top level");
}

TEST(ParseDescriptor, LegacyTopLevelKeysAreAccepted) {
    Descriptor d = parse_ok(
        "communication:\n  _unstable_local: tcp\n_unstable_debug: {}\n"
        "_unstable_deploy:\n  machine: a\nnodes: []\n");
    EXPECT_EQ(d.deploy->machine, "a");
}

TEST(ParseDescriptor, StrictKeyTakesABool) {
    EXPECT_TRUE(parse_ok("strict: true\nnodes: []\n").strict);
    EXPECT_FALSE(parse_ok("strict: false\nnodes: []\n").strict);
    EXPECT_FALSE(parse_ok("nodes: []\n").strict);
    EXPECT_CONTAINS(parse_error("strict: yes please\nnodes: []\n"),
                    "dataflow.yml:1:9: `strict` must be true or false, not \"yes please\"");
}

TEST(ParseDescriptor, Dora1RestartKeysTopLevelEnvAndDropOldestParse) {
    Descriptor d = parse_ok(
        "env: {A: 1, B: x}\n"
        "nodes:\n  - id: a\n    path: shell\n    env: {B: mine}\n    deploy: {labels: {gpu: "
        "true}}\n"
        "    restart_policy: always\n    restart_delay: 0.5\n    max_restart_delay: 8\n"
        "    restart_window: 60\n"
        "    inputs: {t: {source: dora/timer/millis/5, queue_policy: drop_oldest}}\n"
        "debug: {enable_debug_inspection: false}\n"
        "_unstable_debug: {publish_all_messages_to_zenoh: false}\n");
    const NodeDescriptor& a = d.nodes.at(0);
    EXPECT_EQ(a.restart_delay, 0.5);
    EXPECT_EQ(a.max_restart_delay, 8.0);
    EXPECT_EQ(a.restart_window, 60.0);
    EXPECT_EQ(a.deploy.labels, (std::map<std::string, std::string>{{"gpu", "true"}}));
    EXPECT_EQ(a.env.at("A"), "1") << "the dataflow's env reaches the node";
    EXPECT_EQ(a.env.at("B"), "mine") << "the node's own env wins";
}

TEST(ParseDescriptor, Dora1KeysNotDoneYetAreRefusedByName) {
    std::string error = parse_error(
        "nodes:\n  - id: a\n    path: shell\n    send_stdout_as: x\n"
        "    health_check_timeout: 5\n"
        "    restart_delay: 2\n    max_restart_delay: 1\n    deploy: {labels: {gpu: [1]}}\n");
    EXPECT_CONTAINS(error, "`health_check_timeout` (a dora 1.x key) is not supported");
    EXPECT_CONTAINS(error, "`max_restart_delay` (1 s) is below `restart_delay` (2 s)");
    EXPECT_CONTAINS(error,
                    "label `gpu` must be a name (no `=` or `,`) with a string, number or bool");
    EXPECT_EQ(line_count(error), 3u) << error;
}

TEST(ParseDescriptor, DebugInspectionIsOneFlagUnderBothSpellings) {
    const std::string nodes = "nodes:\n  - {id: a, path: shell}\n";
    EXPECT_FALSE(parse_ok(nodes).debug_inspection);
    EXPECT_TRUE(parse_ok(nodes + "debug: {enable_debug_inspection: true}\n").debug_inspection);
    EXPECT_TRUE(parse_ok(nodes + "_unstable_debug: {publish_all_messages_to_zenoh: True}\n")
                    .debug_inspection);
    EXPECT_FALSE(parse_ok(nodes + "debug: {enable_debug_inspection: false}\n"
                                  "_unstable_debug: {publish_all_messages_to_zenoh: false}\n")
                     .debug_inspection);
    EXPECT_TRUE(parse_ok(nodes + "debug: {enable_debug_inspection: false}\n"
                                 "_unstable_debug: {publish_all_messages_to_zenoh: true}\n")
                    .debug_inspection)
        << "either spelling saying true turns it on";
}

TEST(ParseDescriptor, DebugInspectionKeysAreCheckedByName) {
    EXPECT_CONTAINS(parse_error("nodes: []\ndebug: {enable_debug_inspection: yes please}\n"),
                    "dataflow.yml:2:34: `debug.enable_debug_inspection` must be true or false");
    EXPECT_CONTAINS(parse_error("nodes: []\ndebug: {publish_all_messages_to_zenoh: true}\n"),
                    "unknown key `publish_all_messages_to_zenoh` in `debug`; the key is: "
                    "enable_debug_inspection");
    EXPECT_CONTAINS(parse_error("nodes: []\n_unstable_debug: {enable_debug_inspection: true}\n"),
                    "unknown key `enable_debug_inspection` in `_unstable_debug`; the key is: "
                    "publish_all_messages_to_zenoh");
}

TEST(ParseDescriptor, QueuePolicyInputTimeoutAndLogKeysParse) {
    Descriptor d = parse_ok(
        "nodes:\n"
        "  - id: src\n    path: shell\n    outputs: [out, logs]\n    send_logs_as: logs\n"
        "    min_log_level: WARN\n"
        "  - id: dst\n    path: shell\n    min_log_level: stdout\n"
        "    inputs:\n"
        "      a: {source: src/out, queue_size: 1, queue_policy: backpressure}\n"
        "      b: {source: src/out, input_timeout: 2.5}\n"
        "      c: src/out\n");
    const NodeDescriptor& src = d.nodes.at(0);
    EXPECT_EQ(src.send_logs_as, "logs");
    EXPECT_EQ(src.min_log_level, LogLevel::kWarn);
    const NodeDescriptor& dst = d.nodes.at(1);
    EXPECT_EQ(dst.min_log_level, LogLevel::kStdout);
    EXPECT_EQ(dst.inputs.at(0).queue_policy, QueuePolicy::kBackpressure);
    EXPECT_EQ(dst.inputs.at(0).queue_size, 1u);
    EXPECT_EQ(dst.inputs.at(1).input_timeout, 2.5);
    EXPECT_EQ(dst.inputs.at(1).queue_policy, QueuePolicy::kDropOldest);
    EXPECT_EQ(dst.inputs.at(2).input_timeout, std::nullopt);
    EXPECT_TRUE(validate(d, {false})) << validate(d, {false}).error().message();
}

TEST(ParseDescriptor, BadQueuePolicyInputTimeoutAndLogLevelNameTheirPlace) {
    std::string error = parse_error(
        "nodes:\n  - id: a\n    path: shell\n    min_log_level: loud\n"
        "    inputs:\n"
        "      v: {source: dora/timer/millis/5, queue_policy: sometimes}\n"
        "      w: {source: dora/timer/millis/5, input_timeout: -1}\n"
        "      x: {source: dora/timer/millis/5, input_timeout: 0}\n"
        "      y: {source: dora/timer/millis/5, input_timeout: soon}\n");
    EXPECT_CONTAINS(error, "dataflow.yml:4:20");
    EXPECT_CONTAINS(error,
                    "bad min_log_level \"loud\"; use one of error, warn, info, debug, "
                    "trace, stdout");
    EXPECT_CONTAINS(error, "dataflow.yml:6:");
    EXPECT_CONTAINS(error, "input \"v\": bad queue_policy \"sometimes\"; use drop_oldest");
    EXPECT_CONTAINS(error, "`input_timeout` must be a number of seconds");
    EXPECT_CONTAINS(error, "input \"x\": `input_timeout` must be more than 0 seconds");
    EXPECT_EQ(line_count(error), 5u) << error;
}

TEST(Validate, BackpressureThatCannotWaitIsRefused) {
    std::string error = validation_error(
        "nodes:\n"
        "  - id: src\n    path: shell\n    outputs: [out, text, logs]\n"
        "    send_stdout_as: text\n    send_logs_as: logs\n"
        "  - id: far\n    path: shell\n    outputs: [out]\n    deploy: {machine: edge}\n"
        "  - id: dst\n    path: shell\n"
        "    inputs:\n"
        "      t: {source: dora/timer/millis/5, queue_policy: backpressure}\n"
        "      s: {source: src/text, queue_policy: backpressure}\n"
        "      l: {source: src/logs, queue_policy: backpressure}\n"
        "      r: {source: far/out, queue_policy: backpressure}\n"
        "      ok: {source: src/out, queue_policy: backpressure}\n");
    EXPECT_CONTAINS(error, "input \"t\": `queue_policy: backpressure` on a timer");
    EXPECT_CONTAINS(error, "input \"s\": `queue_policy: backpressure` on \"src/text\"");
    EXPECT_CONTAINS(error, "input \"l\": `queue_policy: backpressure` on \"src/logs\"");
    // A producer on another machine can be waited for (the daemons carry the backpressure).
    EXPECT_EQ(error.find("input \"r\""), std::string::npos) << error;
    EXPECT_EQ(line_count(error), 3u) << error;
}

TEST(Validate, SendLogsAsMustBeItsOwnOutput) {
    std::string error = validation_error(
        "nodes:\n  - id: a\n    path: shell\n    outputs: [x]\n    send_stdout_as: x\n"
        "    send_logs_as: x\n"
        "  - id: b\n    path: shell\n    outputs: [x]\n    send_logs_as: logs\n");
    EXPECT_CONTAINS(error, "send_logs_as and send_stdout_as both name output \"x\"");
    EXPECT_CONTAINS(error, "send_logs_as \"logs\" is not one of its outputs (its outputs: x)");
    EXPECT_EQ(line_count(error), 2u) << error;
}

TEST(LogLevel, PlainLinesPassOnlyStdoutAndSeverityOrders) {
    EXPECT_TRUE(log_level_passes(LogLevel::kStdout, LogLevel::kStdout));
    EXPECT_FALSE(log_level_passes(LogLevel::kStdout, LogLevel::kTrace));
    EXPECT_TRUE(log_level_passes(LogLevel::kError, LogLevel::kWarn));
    EXPECT_TRUE(log_level_passes(LogLevel::kWarn, LogLevel::kWarn));
    EXPECT_FALSE(log_level_passes(LogLevel::kInfo, LogLevel::kWarn));
    EXPECT_TRUE(log_level_passes(LogLevel::kTrace, LogLevel::kStdout));
    EXPECT_EQ(parse_log_level("Warning"), LogLevel::kWarn);
    EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
}

TEST(ParseDescriptor, OperatorsBecomeTheRuntimeNodesPrefixedInputsAndOutputs) {
    Descriptor d = parse_ok(
        "nodes:\n  - id: rt\n    operators:\n      - id: a\n        python: a.py\n"
        "        inputs: {tick: dora/timer/millis/5}\n        outputs: [x]\n"
        "      - id: b\n        python: {source: b.py}\n        inputs: {x: rt/a/x}\n"
        "        outputs: [y, z]\n"
        "  - id: single\n    operator:\n      python: s.py\n      inputs: {y: rt/b/y}\n");
    const NodeDescriptor& rt = d.nodes.at(0);
    EXPECT_EQ(rt.kind, NodeKind::kOperators);
    ASSERT_EQ(rt.operators.size(), 2u);
    EXPECT_EQ(rt.operators[1].python, "b.py");
    EXPECT_EQ(rt.operators[1].inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(rt.outputs, (std::vector<std::string>{"a/x", "b/y", "b/z"}));
    ASSERT_EQ(rt.inputs.size(), 2u);
    EXPECT_EQ(rt.inputs[1].id, "b/x");
    const auto& source = std::get<NodeOutputSource>(rt.inputs[1].source);
    EXPECT_EQ(source.node, "rt");
    EXPECT_EQ(source.output, "a/x");
    EXPECT_EQ(d.nodes.at(1).operators.at(0).id, "op") << "`operator:` is named op, as in dora";
}

TEST(ParseDescriptor, OperatorMistakesAreNamed) {
    std::string error = parse_error(
        "nodes:\n  - id: rt\n    path: x.py\n    inputs: {t: dora/timer/millis/5}\n"
        "    operators:\n      - id: a\n        wasm: build/a.wasm\n"
        "      - python: c.py\n      - id: d\n        python: d.py\n        wat: 1\n"
        "      - id: e\n        python: e.py\n        shared-library: build/e\n"
        "      - id: f\n        shared-library: https://example.com/libf.so\n"
        "  - id: custom\n    custom: {source: x}\n");
    EXPECT_CONTAINS(error, "a runtime node (`operators:`/`operator:`) has no `path`; remove it");
    EXPECT_CONTAINS(error, "has no `inputs`; give them to its operators");
    EXPECT_CONTAINS(error, "`wasm` operators are not supported by dora-cpp");
    EXPECT_CONTAINS(error, "operator `e` has both `python:` and `shared-library:`");
    EXPECT_CONTAINS(error, "a `shared-library` URL is not supported by dora-cpp");
    EXPECT_CONTAINS(error, "operator has no `id`");
    EXPECT_CONTAINS(error, "unknown operator key `wat`");
    EXPECT_CONTAINS(error, "`custom` (dora's old node spelling) is not supported");
}

TEST(ParseDescriptor, SharedLibraryOperatorsAreParsedAndNotMixedWithPythonOnes) {
    Descriptor d = parse_ok(
        "nodes:\n  - id: rt\n    operators:\n      - id: a\n        shared-library: build/a\n"
        "        inputs: {tick: dora/timer/millis/5}\n        outputs: [x]\n");
    EXPECT_EQ(d.nodes.at(0).operators.at(0).shared_library, "build/a");
    EXPECT_EQ(d.nodes.at(0).outputs, std::vector<std::string>{"a/x"});

    std::string error = parse_error(
        "nodes:\n  - id: rt\n    operators:\n      - id: py\n        python: p.py\n"
        "      - id: native\n        shared-library: build/n\n");
    EXPECT_CONTAINS(error,
                    "dataflow.yml:4:7: node \"rt\": operator `py` (python) and operator `native` "
                    "(shared-library) cannot run in one node");
    EXPECT_CONTAINS(error, "put them in two nodes");
}

TEST(ParseDescriptor, BothDeploySpellingsOnOneNodeIsAnError) {
    std::string error = parse_error(
        "nodes:\n  - id: a\n    path: shell\n    deploy: {machine: x}\n"
        "    _unstable_deploy: {machine: y}\n");
    EXPECT_CONTAINS(error, "both `deploy` and `_unstable_deploy`");
}

TEST(ParseDescriptor, BadTimersAreRejected) {
    for (std::string_view timer :
         {"dora/timer/millis/0", "dora/timer/secs/-1", "dora/timer/secs/ten", "dora/timer/hz/0",
          "dora/timer/hz/-5", "dora/timer/minutes/1", "dora/timer/millis", "dora/timer/hz/x"}) {
        std::string yaml =
            fmt::format("nodes:\n  - id: a\n    path: shell\n    inputs:\n      t: {}\n", timer);
        std::string error = parse_error(yaml);
        EXPECT_CONTAINS(error,
                        fmt::format("dataflow.yml:5:10: node \"a\": bad timer \"{}\"", timer));
    }
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: shell\n    inputs:\n"
                                "      t: dora/clock/1\n"),
                    "unknown dora input \"dora/clock/1\"");
}

TEST(ParseDescriptor, BadQueueSizesAreRejected) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"0", "drop every message"},    {"-3", "negative"},
        {"1.5", "not a whole number"},  {"abc", "not a whole number"},
        {"2000000", "above the limit"}, {"99999999999999999999999", "above the limit"},
        {"[1]", "it is a list"},
    };
    for (const auto& [size, why] : cases) {
        std::string yaml = fmt::format(
            "nodes:\n  - id: a\n    path: shell\n    inputs:\n      x:\n        source: b/c\n"
            "        queue_size: {}\n",
            size);
        std::string error = parse_error(yaml);
        EXPECT_CONTAINS(error, "dataflow.yml:7:21: node \"a\": input \"x\": bad queue_size");
        EXPECT_CONTAINS(error, why);
    }
}

TEST(ParseDescriptor, MalformedInputsAreRejected) {
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: shell\n    inputs:\n      x: nosl\n"),
                    "input \"x\": \"nosl\" is not a source");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: shell\n    inputs:\n"
                                "      x: {queue_size: 3}\n"),
                    "input \"x\" has no `source`");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: shell\n    inputs:\n"
                                "      x: {source: b/c, size: 3}\n"),
                    "input \"x\": unknown key `size`");
}

TEST(ParseDescriptor, InvalidYamlReportsItsPosition) {
    std::string error = parse_error("nodes:\n  - id: a\n    path: [unclosed\n");
    EXPECT_CONTAINS(error, "dataflow.yml:");
    EXPECT_CONTAINS(error, "invalid YAML");
}

TEST(ParseDescriptor, EmptyOrNonMappingDocumentsAreRejected) {
    EXPECT_CONTAINS(parse_error(""), "must be a mapping with a `nodes:` list");
    EXPECT_CONTAINS(parse_error("- a\n- b\n"), "must be a mapping with a `nodes:` list");
    EXPECT_CONTAINS(parse_error("_unstable_debug: {}\n"), "no `nodes:` list");
}

TEST(ParseDescriptor, MissingIdAndPathAreReported) {
    std::string error = parse_error("nodes:\n  - name: x\n  - id: b\n");
    EXPECT_CONTAINS(error, "dataflow.yml:2:5: node has no `id`");
    EXPECT_CONTAINS(error, "dataflow.yml:3:5: node \"b\": node has no `path`");
}

TEST(ParseDescriptor, WrongTypesAndBadEnumsAreReported) {
    std::string error = parse_error(
        "nodes:\n  - id: a\n    path: shell\n    restart_policy: sometimes\n"
        "    max_restarts: -1\n    outputs: out\n    env:\n      X: [1]\n    args: {a: b}\n");
    EXPECT_CONTAINS(error, "bad restart_policy \"sometimes\"; use never, on-failure or always");
    EXPECT_CONTAINS(error, "`max_restarts` must be a whole number");
    EXPECT_CONTAINS(error, "`outputs` must be a list");
    EXPECT_CONTAINS(error, "env `X` must be a string, number or bool");
    EXPECT_CONTAINS(error, "`args` must be a single string");
    EXPECT_EQ(line_count(error), 5u);
}

TEST(ParseDescriptor, DuplicateKeysAreReported) {
    std::string error = parse_error("nodes:\n  - id: a\n    path: shell\n    path: dynamic\n");
    EXPECT_CONTAINS(error, "dataflow.yml:4:5: node \"a\": key `path` appears twice");
}

TEST(ParseDescriptor, GitRevisionsNeedGitAndAtMostOne) {
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: x\n    branch: main\n"),
                    "need `git: <repository url>`");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: x\n    git: u\n    tag: t\n"
                                "    rev: r\n"),
                    "at most one of `branch`, `tag` and `rev`");
}

TEST(ParseDescriptor, GitIsRefusedWhereItCannotWork) {
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: dynamic\n    git: u\n"),
                    "dataflow.yml:4:10: node \"a\": `git:` fetches the source of a spawned node");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: https://h/x\n    git: u\n"),
                    "`path` is a file in the repository, not a URL");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: x\n    git: u\n    branch: -f\n"),
                    "`branch` must be a name that does not start with '-'");
    EXPECT_CONTAINS(parse_error("nodes:\n  - id: a\n    path: x\n    git: --upload-pack=x\n"),
                    "`git` must be a repository URL");
    EXPECT_TRUE(parse_descriptor("nodes:\n  - id: a\n    path: shell\n    args: ls\n    git: u\n",
                                 "dataflow.yml"));
}

TEST(ParseDescriptor, EveryProblemIsReportedNotJustTheFirst) {
    std::string error = parse_error(
        "nodes:\n  - id: a\n    path: shell\n    bogus: 1\n  - id: b\n    path: shell\n"
        "    inputs:\n      t: dora/timer/millis/0\n  - id: c\n");
    EXPECT_EQ(line_count(error), 3u) << error;
}

constexpr std::string_view kMissingOutput = R"(nodes:
  - id: src
    path: shell
    outputs: [a, b]
  - id: sink
    path: shell
    inputs:
      data: src/out
)";

TEST(Validate, InputFromMissingOutputNamesTheOutputsAndWhatToDo) {
    EXPECT_EQ(validation_error(kMissingOutput),
              "dataflow.yml:8:13: node \"sink\": input \"data\" reads from \"src/out\" but node "
              "\"src\" has no output \"out\" (its outputs: a, b); add \"out\" to its outputs or "
              "fix the input");
}

TEST(Validate, InputFromMissingNodeListsTheNodes) {
    std::string error = validation_error(
        "nodes:\n  - id: sink\n    path: shell\n    inputs:\n      data: camera/image\n");
    EXPECT_CONTAINS(error,
                    "dataflow.yml:5:13: node \"sink\": input \"data\" reads from "
                    "\"camera/image\" but there is no node \"camera\" (nodes: sink)");
}

TEST(Validate, MoreInputsThanANodeMayHaveAreRefusedAtCheckTime) {
    auto yaml = [](size_t inputs) {
        std::string y =
            "nodes:\n  - id: src\n    path: shell\n    outputs: [o]\n"
            "  - id: sink\n    path: shell\n    inputs:\n";
        for (size_t i = 0; i < inputs; ++i) {
            y += fmt::format("      in{}: src/o\n", i);
        }
        return y;
    };
    Descriptor at_limit = parse_ok(yaml(kMaxNodeInputs));
    EXPECT_TRUE(validate(at_limit, {false}));
    EXPECT_CONTAINS(validation_error(yaml(kMaxNodeInputs + 1)),
                    "dataflow.yml:7:5: node \"sink\": 4097 inputs; a node may have at most 4096: "
                    "split it into several nodes");
}

TEST(Validate, DuplicateNodeIdsPointAtBoth) {
    std::string error =
        validation_error("nodes:\n  - id: a\n    path: shell\n  - id: a\n    path: dynamic\n");
    EXPECT_CONTAINS(error,
                    "dataflow.yml:4:5: node \"a\": duplicate node id (first defined at "
                    "dataflow.yml:2:5)");
}

TEST(Validate, SlashInNodeIdIsRejected) {
    std::string error = validation_error("nodes:\n  - id: a/b\n    path: shell\n");
    EXPECT_CONTAINS(error, "dataflow.yml:2:5: node \"a/b\": the id contains '/'");
}

TEST(Validate, IdsThatAreNotPlainKeyChunksAreRejectedWithFileAndLine) {
    std::string error = validation_error(
        "nodes:\n"
        "  - id: \"*\"\n    path: shell\n"
        "  - id: \"**\"\n    path: shell\n"
        "  - id: a$b\n    path: shell\n"
        "  - id: \"q?\"\n    path: shell\n"
        "  - id: \"h#\"\n    path: shell\n"
        "  - id: \"bell\\a\"\n    path: shell\n"
        "  - id: ok\n    path: shell\n"
        "    outputs: [\"*\", \"a//b\", \"/x\", \"x/\", fine/part, also-fine]\n");
    EXPECT_CONTAINS(error, "dataflow.yml:2:5: node \"*\": the id \"*\" contains '*'");
    EXPECT_CONTAINS(error, "dataflow.yml:4:5: node \"**\": the id \"**\" contains '*'");
    EXPECT_CONTAINS(error, "dataflow.yml:6:5: node \"a$b\": the id \"a$b\" contains '$'");
    EXPECT_CONTAINS(error, "dataflow.yml:8:5: node \"q?\": the id \"q?\" contains '?'");
    EXPECT_CONTAINS(error, "dataflow.yml:10:5: node \"h#\": the id \"h#\" contains '#'");
    // A control character is shown escaped, never raw.
    EXPECT_CONTAINS(error,
                    "node \"bell\\x07\": the id \"bell\\x07\" contains the control character");
    EXPECT_EQ(error.find('\a'), std::string::npos);
    EXPECT_CONTAINS(error, "dataflow.yml:16:15: node \"ok\": output: the id \"*\" contains '*'");
    EXPECT_CONTAINS(error, "node \"ok\": output: the output id \"a//b\" has an empty part");
    EXPECT_CONTAINS(error, "output id \"/x\" has an empty part");
    EXPECT_CONTAINS(error, "output id \"x/\" has an empty part");
    EXPECT_EQ(error.find("fine/part"), std::string::npos) << error;
    EXPECT_EQ(error.find("also-fine"), std::string::npos) << error;
}

TEST(Validate, OperatorIdsAreKeyChunksToo) {
    std::string error = validation_error(
        "nodes:\n  - id: rt\n    operators:\n      - id: \"op*\"\n        python: op.py\n");
    EXPECT_CONTAINS(error, "node \"rt\": operator: the id \"op*\" contains '*'");
}

TEST(Validate, DuplicateOutputsAndInputsAreRejected) {
    std::string error = validation_error(
        "nodes:\n  - id: a\n    path: shell\n    outputs: [x, y, x]\n    inputs:\n"
        "      i: a/x\n      i: a/y\n");
    EXPECT_CONTAINS(error, "dataflow.yml:4:21: node \"a\": output \"x\" is listed twice");
    EXPECT_CONTAINS(error, "dataflow.yml:7:10: node \"a\": input \"i\" is defined twice");
}

TEST(Validate, SendStdoutAsMustNameAnOutput) {
    std::string error = validation_error(
        "nodes:\n  - id: a\n    path: shell\n    outputs: [x]\n    send_stdout_as: logs\n");
    EXPECT_CONTAINS(error,
                    "dataflow.yml:5:5: node \"a\": send_stdout_as \"logs\" is not one of "
                    "its outputs (its outputs: x)");
}

TEST(Validate, ModelValuesOutOfRangeAreRejected) {
    Descriptor d;
    NodeDescriptor node;
    node.id = "a";
    node.path = "shell";
    node.kind = NodeKind::kShell;
    node.inputs.push_back(
        Input{"t", TimerSource{0ns, ""}, 0, QueuePolicy::kDropOldest, std::nullopt, {}});
    d.nodes.push_back(node);
    auto valid = validate(d);
    ASSERT_FALSE(valid);
    EXPECT_CONTAINS(valid.error().message(), "queue_size 0 is out of range");
    EXPECT_CONTAINS(valid.error().message(), "timer interval must be greater than zero");
}

TEST(Validate, CollectsEveryProblem) {
    std::string error = validation_error(
        "nodes:\n  - id: a\n    path: shell\n    outputs: [x, x]\n    inputs:\n"
        "      p: b/q\n      r: a/z\n  - id: a\n    path: shell\n");
    EXPECT_EQ(line_count(error), 4u) << error;
}

TEST(Validate, MissingExecutablesAndScriptsAreReportedRelativeToTheDataflow) {
    TempDir dir;
    fs::path file = dir.write("flow/dataflow.yml",
                              "nodes:\n  - id: bin\n    path: ./build/node\n"
                              "  - id: py\n    path: scripts/node.py\n"
                              "  - id: bare\n    path: no-such-program-dora-test\n"
                              "  - id: plain\n    path: data.txt\n",
                              false);
    dir.write("flow/data.txt", "not a program", false);
    auto d = read_descriptor(file);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->base_dir, dir.path() / "flow");
    auto valid = validate(*d);
    ASSERT_FALSE(valid);
    std::string error = valid.error().message();
    EXPECT_CONTAINS(error, ":3:5: node \"bin\": " + (dir.path() / "flow/build/node").string() +
                               " does not exist");
    EXPECT_CONTAINS(error, ":5:5: node \"py\": ");
    EXPECT_CONTAINS(error, "scripts/node.py does not exist");
    EXPECT_CONTAINS(error, "node \"bare\": \"no-such-program-dora-test\" is neither in");
    EXPECT_CONTAINS(error, "node \"plain\": " + (dir.path() / "flow/data.txt").string() +
                               " is not executable; run `chmod +x");
    EXPECT_EQ(line_count(error), 4u);
}

TEST(Validate, ExistingFilesShellDynamicAndBuildNodesPass) {
    TempDir dir;
    dir.write("node", "#!/bin/sh\n", true);
    dir.write("node.py", "print(1)\n", false);
    fs::path file = dir.write("dataflow.yml",
                              "nodes:\n  - id: bin\n    path: node\n  - id: py\n    path: node.py\n"
                              "  - id: sh\n    path: sh\n  - id: shell\n    path: shell\n"
                              "  - id: dyn\n    path: dynamic\n"
                              "  - id: later\n    path: target/later\n    build: make later\n",
                              false);
    auto d = read_descriptor(file);
    ASSERT_TRUE(d) << d.error().message();
    auto valid = validate(*d);
    EXPECT_TRUE(valid) << valid.error().message();
}

TEST(ResolveNodePath, FindsFilesNextToTheDataflowThenOnPath) {
    TempDir dir;
    dir.write("node", "#!/bin/sh\n", true);
    Descriptor d;
    d.base_dir = dir.path();
    NodeDescriptor local;
    local.id = "local";
    local.path = "node";
    EXPECT_EQ(resolve_node_path(d, local).value(), dir.path() / "node");

    NodeDescriptor on_path = local;
    on_path.path = "sh";
    auto sh = resolve_node_path(d, on_path);
    ASSERT_TRUE(sh) << sh.error().message();
    EXPECT_EQ(sh->filename(), "sh");

    NodeDescriptor shell = local;
    shell.path = "shell";
    shell.kind = NodeKind::kShell;
    EXPECT_FALSE(resolve_node_path(d, shell));
}

TEST(ResolveOperatorFile, SharedLibrariesAreNamedAsInDoraOrAsExactFiles) {
    TempDir dir;
    for (const char* file : {"build/libop.so", "build/custom.so.1"}) {
        dir.write(file, "", false);
    }
    Descriptor descriptor;
    descriptor.base_dir = dir.path();
    const std::pair<std::string, std::string> written_and_found[] = {
        {"build/op", "build/libop.so"},
        {"build/custom.so.1", "build/custom.so.1"},
        {(dir.path() / "build/op").string(), "build/libop.so"},
    };
    auto operator_of = [](const std::string& written) {
        OperatorDescriptor op;
        op.id = "op";
        op.shared_library = written;
        return op;
    };
    for (const auto& [written, found] : written_and_found) {
        auto file = resolve_operator_file(descriptor, operator_of(written));
        ASSERT_TRUE(file) << written << ": " << file.error().message();
        EXPECT_EQ(*file, dir.path() / found) << written;
    }
    auto missing = resolve_operator_file(descriptor, operator_of("build/other"));
    ASSERT_FALSE(missing);
    EXPECT_CONTAINS(missing.error().message(), "operator `op`: no shared library at " +
                                                   (dir.path() / "build/libother.so").string());
}

TEST(ReadDescriptor, MissingFileSaysWhichFile) {
    auto d = read_descriptor("/nonexistent/dataflow.yml");
    ASSERT_FALSE(d);
    EXPECT_CONTAINS(d.error().message(), "cannot open dataflow file /nonexistent/dataflow.yml");
}

}  // namespace
}  // namespace dora
