// TLS settings: PEM from files, memory and base64, and the errors of a context that cannot be
// made (missing or unreadable files, a key of another certificate, an encrypted key, a listener
// without a certificate, mutual TLS without a root CA).
#include <gtest/gtest.h>

#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "tls/context.hpp"
#include "tls/test_certs.hpp"

namespace dora::tls {
namespace {

using dora::testing::has_text;

class TlsConfigTest : public ::testing::Test {
  protected:
    // The error of a context that must not be made.
    static std::string server_error(const TlsConfig& config) {
        auto ctx = TlsContext::server(config);
        return ctx ? "(made)" : ctx.error().message();
    }
    static std::string client_error(const TlsConfig& config) {
        auto ctx = TlsContext::client(config);
        return ctx ? "(made)" : ctx.error().message();
    }

    dora::testing::TempDir dir_{"dora-tls-config"};
    testing::TestCa ca_{"config test CA"};
    testing::KeyPair pair_ = ca_.issue({});
};

TEST_F(TlsConfigTest, PemFileIsReadAndNamedByItsSettingAndPath) {
    auto path = dir_.write("ca.pem", ca_.certificate()).string();
    auto pem = pem_from_file("root_ca_certificate", path);
    ASSERT_TRUE(pem) << pem.error().message();
    EXPECT_EQ(pem->text, ca_.certificate());
    EXPECT_EQ(pem->origin, "root_ca_certificate (" + path + ")");
}

TEST_F(TlsConfigTest, MissingFileSaysWhichSettingAndPath) {
    auto pem = pem_from_file("listen_certificate", (dir_ / "nope.pem").string());
    ASSERT_FALSE(pem);
    EXPECT_TRUE(has_text(pem.error().message(), "cannot read listen_certificate '"));
    EXPECT_TRUE(has_text(pem.error().message(), "No such file or directory"));
}

TEST_F(TlsConfigTest, FileThatIsNotPemIsRefused) {
    auto pem = pem_from_file("listen_certificate", dir_.write("c.der", "\x30\x82").string());
    ASSERT_FALSE(pem);
    EXPECT_TRUE(has_text(pem.error().message(), "is not PEM"));
}

TEST_F(TlsConfigTest, Base64OfPemDecodes) {
    // "-----BEGIN X-----\n" in base64, split by whitespace as a user may paste it.
    auto pem = pem_from_base64("root_ca_certificate_base64", "LS0tLS1CRUdJTiBYLS0t\n LS0K");
    ASSERT_TRUE(pem) << pem.error().message();
    EXPECT_EQ(pem->text, "-----BEGIN X-----\n");
}

TEST_F(TlsConfigTest, BadBase64IsRefusedByName) {
    auto pem = pem_from_base64("root_ca_certificate_base64", "not base64!");
    ASSERT_FALSE(pem);
    EXPECT_TRUE(has_text(pem.error().message(), "root_ca_certificate_base64: not base64"));
}

TEST_F(TlsConfigTest, ServerWithoutCertificateSaysWhatToSet) {
    TlsConfig config;
    config.wording.listen_certificate = "listen_certificate";
    config.wording.listen_private_key = "listen_private_key";
    EXPECT_EQ(server_error(config),
              "a TLS listener needs a certificate and its key: set listen_certificate and "
              "listen_private_key");
}

TEST_F(TlsConfigTest, MutualTlsNeedsARootCa) {
    TlsConfig config;
    config.certificate = pem_from_string("listen_certificate", pair_.certificate);
    config.private_key = pem_from_string("listen_private_key", pair_.key);
    config.require_client_certificate = true;
    EXPECT_TRUE(has_text(server_error(config), "mutual TLS needs the root CA"));
}

TEST_F(TlsConfigTest, KeyOfAnotherCertificateIsRefused) {
    testing::KeyPair other = ca_.issue({});
    TlsConfig config;
    config.certificate = pem_from_string("listen_certificate", pair_.certificate);
    config.private_key = pem_from_string("listen_private_key", other.key);
    EXPECT_TRUE(has_text(server_error(config),
                         "listen_private_key is not the key of listen_certificate (CN=dora-test)"))
        << server_error(config);
}

TEST_F(TlsConfigTest, EncryptedKeyIsRefusedWithTheFix) {
    TlsConfig config;
    config.certificate = pem_from_string("listen_certificate", pair_.certificate);
    config.private_key = pem_from_string(
        "listen_private_key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
    EXPECT_TRUE(has_text(server_error(config), "is encrypted with a passphrase"));
}

TEST_F(TlsConfigTest, CaTextWithoutCertificateIsRefused) {
    TlsConfig config;
    config.root_ca = pem_from_string("root_ca_certificate", pair_.key);
    EXPECT_TRUE(has_text(client_error(config), "root_ca_certificate: no certificate in it"));
}

TEST_F(TlsConfigTest, ClientCertificateWithoutKeyIsRefused) {
    TlsConfig config;
    config.certificate = pem_from_string("connect_certificate", pair_.certificate);
    EXPECT_TRUE(has_text(client_error(config), "needs its key"));
}

TEST_F(TlsConfigTest, ContextDescribesItsCertificate) {
    TlsConfig config;
    config.certificate = pem_from_string("listen_certificate", pair_.certificate);
    config.private_key = pem_from_string("listen_private_key", pair_.key);
    auto ctx = TlsContext::server(config);
    ASSERT_TRUE(ctx) << ctx.error().message();
    EXPECT_TRUE(has_text((*ctx)->certificate(), "listen_certificate, CN=dora-test, valid until"));
    EXPECT_TRUE((*ctx)->certificate_not_after().has_value());
}

}  // namespace
}  // namespace dora::tls
