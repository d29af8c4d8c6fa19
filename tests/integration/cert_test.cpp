// `dora cert` and the daemon's certificate against a real `dora coordinator` with a cluster token
// (in the cluster's config dir, so every process of the test has it, as a user would set it up):
// an issued certificate verifies under the CA the coordinator stored; without the token, with a
// wrong one, or against a coordinator without a token, nothing is issued; the CA survives a
// coordinator restart; a daemon gets its own certificate; bad names are refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "pki/certificate.hpp"
#include "pki/files.hpp"
#include "pki/keys.hpp"
#include "testing/cluster.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

std::string read(const fs::path& path) { return pki::read_file(path).value_or(""); }

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

struct CertTest : ::testing::Test {
    TempDir dir{"dora-cert-test"};
    Cluster cluster{DORA_CLI_BINARY, dir.path()};
    fs::path state = dir / "state";

    void TearDown() override {
        if (HasFailure()) std::cerr << cluster.logs();
    }

    void with_token() { dir.write("config/dora/token", "cert-test-token\n"); }

    ::testing::AssertionResult start_coordinator() {
        return cluster.start_coordinator({"--state-dir", state.string()});
    }

    Cluster::Result run(std::vector<std::string> args) { return cluster.run(std::move(args), 30s); }

    // A CLI verb run with its own config dir: no token unless `token` is written there.
    Cluster::Result run_elsewhere(std::vector<std::string> args, const std::string& token) {
        const fs::path config = dir / "other-config";
        fs::create_directories(config);
        if (!token.empty()) dir.write("other-config/dora/token", token);
        SpawnOptions options = cluster.spawn_options();
        options.env["XDG_CONFIG_HOME"] = config.string();
        Process process(cluster.cli(std::move(args)), options);
        const int status = process.wait(30s);
        return Cluster::Result{exit_code(status), process.out(), process.err()};
    }
};

TEST_F(CertTest, IssuedCertificateVerifiesUnderTheStoredCa) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    auto issued = run({"cert", "issue", "edge-box", "--out", (dir / "out").string()});
    ASSERT_EQ(issued.code, 0) << issued.all();
    const std::string cert = read(dir / "out" / "edge-box.crt");
    const std::string key = read(dir / "out" / "edge-box.key");
    EXPECT_EQ(read(dir / "out" / "ca.crt"), read(state / "ca.crt"));
    auto verified = pki::verify_certificate(cert, read(state / "ca.crt"), "edge-box");
    EXPECT_TRUE(verified) << verified.error().message();
    EXPECT_TRUE(pki::key_matches_certificate(key, cert).value_or(false));
    EXPECT_EQ(mode_of(dir / "out" / "edge-box.key"), 0600u);
    EXPECT_EQ(mode_of(state / "ca.key"), 0600u);
    EXPECT_EQ(mode_of(state), 0700u);
    auto info = pki::inspect_certificate(cert).value();
    EXPECT_NEAR(static_cast<double>(info.not_after - pki::unix_now()), 30.0 * 86400, 600);
    for (const char* key_name :
         {"root_ca_certificate", "listen_certificate", "listen_private_key", "connect_certificate",
          "connect_private_key", "enable_mtls: true", "Z_CONFIG_TLS_ROOT_CA_CERTIFICATE_KEY"}) {
        EXPECT_TRUE(contains(issued.out, key_name));
    }
    EXPECT_TRUE(contains(cluster.coordinator()->all(),
                         "issued a certificate for `edge-box` to the CLI at"));
    EXPECT_TRUE(contains(cluster.coordinator()->all(), info.serial));
}

TEST_F(CertTest, ExistingFilesAreKeptUnlessForced) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    const std::string out = (dir / "out").string();
    ASSERT_EQ(run({"cert", "issue", "a", "--out", out, "--days", "3"}).code, 0);
    const std::string first = read(dir / "out" / "a.crt");
    auto again = run({"cert", "issue", "a", "--out", out});
    EXPECT_NE(again.code, 0);
    EXPECT_TRUE(contains(again.err, "exists already"));
    EXPECT_TRUE(contains(again.err, "--force"));
    EXPECT_EQ(read(dir / "out" / "a.crt"), first);
    auto forced = run({"cert", "issue", "a", "--out", out, "--force"});
    ASSERT_EQ(forced.code, 0) << forced.all();
    EXPECT_NE(read(dir / "out" / "a.crt"), first);
}

TEST_F(CertTest, WithoutTheTokenOrWithAWrongOneNothingIsIssued) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    auto none = run_elsewhere({"cert", "issue", "x", "--out", (dir / "none").string()}, "");
    EXPECT_NE(none.code, 0) << none.all();
    EXPECT_TRUE(contains(none.err, "token"));
    auto wrong = run_elsewhere({"cert", "issue", "x", "--out", (dir / "wrong").string()}, "nope");
    EXPECT_NE(wrong.code, 0) << wrong.all();
    EXPECT_FALSE(fs::exists(dir / "none" / "x.crt"));
    EXPECT_FALSE(fs::exists(dir / "wrong" / "x.crt"));
    EXPECT_FALSE(contains(cluster.coordinator()->all(), "issued a certificate"));
}

TEST_F(CertTest, CoordinatorWithoutATokenIssuesNothingAndSaysWhy) {
    ASSERT_TRUE(start_coordinator());
    auto issued = run({"cert", "issue", "x", "--out", (dir / "out").string()});
    EXPECT_NE(issued.code, 0);
    EXPECT_TRUE(contains(issued.err, "certificates need a cluster token"));
    auto ca = run({"cert", "ca"});
    EXPECT_NE(ca.code, 0);
    EXPECT_TRUE(contains(ca.err, "certificates need a cluster token"));
    EXPECT_FALSE(fs::exists(state / "ca.key"));
    EXPECT_FALSE(fs::exists(dir / "out" / "x.key"));  // the key is written only with its cert
    EXPECT_FALSE(fs::exists(dir / "out"));            // nor is the --out directory made for nothing
}

TEST_F(CertTest, CaIsReusedAfterACoordinatorRestart) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    auto before = run({"cert", "ca"});
    ASSERT_EQ(before.code, 0) << before.all();
    EXPECT_TRUE(contains(before.out, "-----BEGIN CERTIFICATE-----"));
    EXPECT_TRUE(contains(cluster.coordinator()->all(), "cluster CA created in"));
    cluster.coordinator()->terminate();
    ASSERT_TRUE(start_coordinator());
    auto after = run({"cert", "ca", "--out", (dir / "ca.pem").string()});
    ASSERT_EQ(after.code, 0) << after.all();
    EXPECT_EQ(read(dir / "ca.pem"), before.out);
    EXPECT_TRUE(contains(cluster.coordinator()->all(), "cluster CA loaded from"));
}

TEST_F(CertTest, KeyReadableByOthersStopsTheCoordinator) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    cluster.coordinator()->terminate();
    fs::permissions(state / "ca.key", fs::perms::others_read, fs::perm_options::add);
    EXPECT_FALSE(start_coordinator());
    Process& coordinator = *cluster.coordinator();
    EXPECT_TRUE(coordinator.wait_for([&] { return coordinator.exited(); }, 10s));
    EXPECT_NE(exit_code(coordinator.status()), 0);
    EXPECT_TRUE(contains(coordinator.all(), "chmod 600"));
}

TEST_F(CertTest, DaemonGetsItsOwnCertificate) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    Process& daemon = cluster.start_daemon("edge1");
    ASSERT_TRUE(daemon.wait_for(
        [&] {
            return contains(daemon.all(), "certificate of the cluster CA received (name `edge1`");
        },
        20s))
        << daemon.all();
    EXPECT_TRUE(contains(cluster.coordinator()->all(),
                         "issued a certificate for `edge1` to the daemon `edge1`"));
}

TEST_F(CertTest, BadNamesAreRefusedSayingWhy) {
    with_token();
    ASSERT_TRUE(start_coordinator());
    auto wildcard = run({"cert", "issue", "*.example.com", "--out", (dir / "out").string()});
    EXPECT_NE(wildcard.code, 0);
    EXPECT_TRUE(contains(wildcard.err, "wildcards are not issued"));
    auto slash = run({"cert", "issue", "a/b", "--out", (dir / "out").string()});
    EXPECT_NE(slash.code, 0);
    EXPECT_TRUE(contains(slash.err, "contains `/`"));
    auto alt = run({"cert", "issue", "ok", "--alt-name", "a..b", "--out", (dir / "out").string()});
    EXPECT_NE(alt.code, 0);
    EXPECT_TRUE(contains(alt.err, "empty part"));
    EXPECT_FALSE(fs::exists(dir / "out" / "ok.key"));
}

}  // namespace
}  // namespace dora::testing
