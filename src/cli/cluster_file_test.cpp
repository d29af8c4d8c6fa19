#include "cli/cluster_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "cli/cluster_remote.hpp"
#include "cli/cluster_ssh.hpp"

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

namespace dora::cli {
namespace {

const std::filesystem::path kPath = "/site/cluster.yml";

std::string error_of(std::string_view text) {
    auto file = parse_cluster_file(text, kPath);
    EXPECT_FALSE(file.has_value());
    return file ? std::string() : file.error().message();
}

TEST(ClusterFile, ReadsDoraOnePointXFile) {
    auto file = parse_cluster_file(R"(
coordinator:
  addr: 10.0.0.1
  port: 7000
machines:
  - id: gpu-a100
    host: 192.168.1.10
    user: ml
    port: 2222
    daemon_port: 53292
    labels:
      gpu: a100
      arch: x86_64
  - id: jetson-01
    host: 192.168.1.20
)",
                                   kPath);
    ASSERT_TRUE(file.has_value()) << file.error().message();
    EXPECT_EQ(file->coordinator_addr, "10.0.0.1");
    EXPECT_EQ(file->coordinator_port, 7000);
    EXPECT_EQ(file->control_port, 6012);
    ASSERT_EQ(file->machines.size(), 2u);
    const auto& gpu = file->machines[0];
    EXPECT_EQ(gpu.id, "gpu-a100");
    EXPECT_EQ(gpu.user, "ml");
    EXPECT_EQ(gpu.ssh_port, 2222);
    EXPECT_EQ(gpu.daemon_port, 53292);
    EXPECT_EQ(gpu.labels.at("gpu"), "a100");
    EXPECT_EQ(file->machines[1].daemon_port, 53291);
    EXPECT_FALSE(file->machines[1].ssh_port.has_value());
    EXPECT_EQ(file->dir_of(file->machines[1]), ".dora/cluster/jetson-01");
}

TEST(ClusterFile, ReadsItsOwnKeysWithPathsRelativeToTheFile) {
    auto file = parse_cluster_file(R"(
coordinator: {addr: 10.0.0.1, control_port: 6100}
ssh:
  config: keys/ssh_config
  options: [StrictHostKeyChecking=accept-new]
machines:
  - id: edge1
    host: edge1.lan
    dir: /opt/dora
    identity_file: keys/id
    service: process
    env: {ZENOH_CONFIG: /etc/z.json5, RUST_LOG: info}
)",
                                   kPath);
    ASSERT_TRUE(file.has_value()) << file.error().message();
    EXPECT_EQ(file->control_port, 6100);
    EXPECT_EQ(file->ssh_config, "/site/keys/ssh_config");
    EXPECT_EQ(file->ssh_options, std::vector<std::string>{"StrictHostKeyChecking=accept-new"});
    const auto& m = file->machines[0];
    EXPECT_EQ(m.identity_file, "/site/keys/id");
    EXPECT_EQ(m.service, ServiceKind::kProcess);
    EXPECT_EQ(m.env.at("ZENOH_CONFIG"), "/etc/z.json5");
    EXPECT_EQ(file->dir_of(m), "/opt/dora");
}

TEST(ClusterFile, UnknownKeyIsNamedWithLineAndSuggestion) {
    const auto error = error_of(
        "coordinator:\n  addr: 10.0.0.1\nmachines:\n  - id: a\n    host: b\n    lables: {x: y}\n");
    EXPECT_CONTAINS(error, "/site/cluster.yml:6:5: unknown key `lables` (did you mean `labels`?)");
    EXPECT_CONTAINS(error, "the keys are: id, host");
}

TEST(ClusterFile, EveryProblemIsReportedAtOnce) {
    const auto error = error_of(R"(
coordinator: {port: 99999}
machines:
  - id: a
    host: h
  - id: a
    host: h
  - host: x
    daemon_port: 0
)");
    EXPECT_CONTAINS(error, "`coordinator` has no `addr`");
    EXPECT_CONTAINS(error, "`coordinator.port` must be a port number from 1 to 65535, not `99999`");
    EXPECT_CONTAINS(error, "machine id `a` is used twice");
    EXPECT_CONTAINS(error, "a machine has no `id`");
    EXPECT_CONTAINS(error, "`daemon_port` must be a port number from 1 to 65535, not `0`");
}

TEST(ClusterFile, TwoDaemonsOfOneHostNeedTheirOwnPorts) {
    const auto error =
        error_of("coordinator: {addr: c}\nmachines:\n  - {id: a, host: h}\n  - {id: b, host: h}\n");
    EXPECT_CONTAINS(error, "machine `b`: another machine on h already uses daemon_port 53291");
}

TEST(ClusterFile, RefusesWhatItCannotDo) {
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nzenoh_peer: tcp/1.2.3.4:5456\nmachines:\n"
                             "  - {id: a, host: h}\n"),
                    "`zenoh_peer` (dora 1.x) is not supported");
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nmachines:\n  - {id: a, host: h, service: "
                             "launchd}\n"),
                    "`service: launchd`: use `auto`");
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nmachines:\n  - {id: a/b, host: h}\n"),
                    "machine id `a/b`: use letters");
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nmachines:\n  - {id: a, host: h, labels: "
                             "{zone: 'a,b'}}\n"),
                    "label `zone: a,b`");
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nmachines:\n  - {id: a, host: h, env: "
                             "{1X: y}}\n"),
                    "`1X` is not a variable name");
    EXPECT_CONTAINS(error_of("coordinator: {addr: c}\nmachines: []\n"),
                    "`machines` must be a list of at least one machine");
    EXPECT_CONTAINS(error_of("coordinator: [\n"), "/site/cluster.yml:");
}

TEST(ClusterRemote, DaemonScriptQuotesEverythingForTheShell) {
    auto file = parse_cluster_file(
        "coordinator: {addr: 10.0.0.1}\nmachines:\n  - id: a\n    host: h\n    labels: {zone: "
        "edge}\n    env: {NOTE: \"it's $HOME\"}\n",
        kPath);
    ASSERT_TRUE(file.has_value()) << file.error().message();
    const auto text = daemon_script(*file, file->machines[0], "/opt/d d", "/opt/d d/bin/dora");
    EXPECT_CONTAINS(text, "export NOTE='it'\\''s $HOME'\n");
    EXPECT_CONTAINS(text,
                    "exec '/opt/d d/bin/dora' daemon --machine-id 'a' --coordinator-addr "
                    "'10.0.0.1' --coordinator-port 53290 --local-listen-port 53291 "
                    "--token-file '/opt/d d/token'");
    EXPECT_CONTAINS(text, "--labels 'zone=edge'");
}

TEST(ClusterRemote, UnitRunsTheDaemonScript) {
    ClusterMachine m;
    m.id = "edge1";
    const auto text = unit_text(m, "/srv/100%", "user");
    EXPECT_CONTAINS(text, "ExecStart=/bin/sh \"/srv/100%%/daemon.sh\"\n");
    EXPECT_CONTAINS(text, "WantedBy=default.target");
    EXPECT_CONTAINS(unit_text(m, "/srv", "system"), "WantedBy=multi-user.target");
}

TEST(ClusterRemote, ProbeAnswerIsRead) {
    auto probe = parse_probe(
        "dir=/root/.dora/cluster/a\narch=x86_64\ndir_state=ours\nbundle=abc\nsystemd=none\n"
        "service=process\nuser=ann\nlinger=1\nrunning=1\nfree_kb=2048\n");
    ASSERT_TRUE(probe.has_value());
    EXPECT_EQ(probe->bundle, "abc");
    EXPECT_EQ(probe->user, "ann");
    EXPECT_TRUE(probe->linger);
    EXPECT_FALSE(parse_probe("dir=/d\narch=x86_64\ndir_state=missing\n")->linger);
    EXPECT_TRUE(probe->running);
    EXPECT_EQ(probe->free_bytes, 2048u * 1024);
    EXPECT_FALSE(parse_probe("fish: Unknown command\n").has_value());
}

TEST(ClusterRemote, UnitPassesSystemdAnalyzeVerify) {
    if (::access("/usr/bin/systemd-analyze", X_OK) != 0) {
        GTEST_SKIP() << "systemd-analyze is not installed";
    }
    char pattern[] = "/tmp/dora-unit-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    const std::string dir = pattern;
    ClusterMachine m;
    m.id = "edge1";
    std::ofstream(dir + "/daemon.sh") << "#!/bin/sh\n";
    for (const std::string scope : {"system", "user"}) {
        const std::string unit = dir + "/dora-daemon-edge1.service";
        std::ofstream(unit) << unit_text(m, dir, scope) << "\n";
        auto out = run_command({"systemd-analyze", "verify", "--man=no", unit}, "", "",
                               std::chrono::seconds(60));
        ASSERT_TRUE(out.has_value()) << out.error().message();
        EXPECT_EQ(out->exit_code, 0) << out->err;
        EXPECT_EQ(out->err, "") << scope;
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dora::cli
