// ZENOH_CONFIG's transport.link.tls: Zenoh's keys and defaults, the *_base64 forms, and the keys
// refused by name; tls/ endpoints.
#include "zenoh/tls_config.hpp"

#include <gtest/gtest.h>

#include "zenoh/config.hpp"

namespace dora::zenoh {
namespace {

std::string error_of(std::string_view text) {
    auto c = parse_config(text, "z.json5");
    EXPECT_FALSE(c) << text;
    return c ? "" : c.error().message();
}

TEST(TlsConfigKeysTest, DefaultsAreZenohs) {
    auto c = parse_config("{}", "z.json5");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->tls.enable_mtls);
    EXPECT_TRUE(c->tls.verify_name_on_connect);
    EXPECT_TRUE(c->tls.root_ca_certificate.empty());
}

TEST(TlsConfigKeysTest, ReadsZenohsKeys) {
    auto c = parse_config(R"({
        listen: {endpoints: ["tls/0.0.0.0:7447"]},
        transport: {link: {tls: {
            root_ca_certificate: "/c/ca.pem",
            listen_certificate: "/c/router.pem",
            listen_private_key: "/c/router-key.pem",
            enable_mtls: true,
            connect_certificate: "/c/client.pem",
            connect_private_key: "/c/client-key.pem",
            verify_name_on_connect: false,
            close_link_on_expiration: true,
        }}},
    })",
                          "z.json5");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->listen.at(0).to_string(), "tls/0.0.0.0:7447");
    EXPECT_EQ(c->tls.root_ca_certificate.path, "/c/ca.pem");
    EXPECT_EQ(c->tls.listen_certificate.path, "/c/router.pem");
    EXPECT_EQ(c->tls.listen_private_key.path, "/c/router-key.pem");
    EXPECT_EQ(c->tls.connect_certificate.path, "/c/client.pem");
    EXPECT_EQ(c->tls.connect_private_key.path, "/c/client-key.pem");
    EXPECT_TRUE(c->tls.enable_mtls);
    EXPECT_FALSE(c->tls.verify_name_on_connect);
    EXPECT_TRUE(c->tls.close_link_on_expiration);
    EXPECT_TRUE(c->unknown_keys.empty());
}

TEST(TlsConfigKeysTest, NullMeansUnsetAsInZenohsDefaultConfig) {
    auto c = parse_config(
        "{transport: {link: {tls: {root_ca_certificate: null, enable_mtls: null, "
        "root_ca_certificate_base64: null}}}}",
        "z.json5");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_TRUE(c->tls.root_ca_certificate.empty());
    EXPECT_FALSE(c->tls.enable_mtls);
}

TEST(TlsConfigKeysTest, Base64FormIsDecoded) {
    // base64 of "-----BEGIN X-----\n"
    auto c = parse_config(
        "{transport: {link: {tls: {root_ca_certificate_base64: 'LS0tLS1CRUdJTiBYLS0tLS0K'}}}}",
        "z.json5");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->tls.root_ca_certificate.pem, "-----BEGIN X-----\n");
}

TEST(TlsConfigKeysTest, FileAndBase64OfOneKeyAreRefused) {
    EXPECT_EQ(error_of("{transport: {link: {tls: {listen_certificate: 'a.pem',\n"
                       "  listen_certificate_base64: 'LS0tLS1CRUdJTiBYLS0tLS0K'}}}}"),
              "z.json5:2:30: only one of 'transport.link.tls.listen_certificate' and "
              "'transport.link.tls.listen_certificate_base64' may be set");
}

TEST(TlsConfigKeysTest, BadBase64IsRefusedWithPosition) {
    EXPECT_EQ(error_of("{transport: {link: {tls: {connect_private_key_base64: 'abc'}}}}"),
              "z.json5:1:55: transport.link.tls.connect_private_key_base64: not base64 (its "
              "length, 3 without spaces, is not a multiple of 4)");
}

TEST(TlsConfigKeysTest, UnsupportedKeysAreRefusedByName) {
    EXPECT_NE(error_of("{transport: {link: {tls: {so_sndbuf: 65536}}}}")
                  .find("'transport.link.tls.so_sndbuf' is not supported by dora-cpp"),
              std::string::npos);
    EXPECT_NE(error_of("{transport: {link: {tls: {close_link_on_expiration: 'yes'}}}}")
                  .find("transport.link.tls.close_link_on_expiration"),
              std::string::npos);
    EXPECT_NE(error_of("{transport: {link: {tls: {server_name_verification: true}}}}")
                  .find("unknown key 'transport.link.tls.server_name_verification'"),
              std::string::npos);
}

TEST(TlsConfigKeysTest, WrongTypesAreErrorsWithPosition) {
    EXPECT_EQ(error_of("{transport: {link: {tls: {enable_mtls: 'yes'}}}}"),
              "z.json5:1:40: 'transport.link.tls.enable_mtls' must be true or false, not string");
    EXPECT_EQ(error_of("{transport: {link: {tls: {root_ca_certificate: 3}}}}"),
              "z.json5:1:48: 'transport.link.tls.root_ca_certificate' must be a file path, not "
              "number");
}

TEST(TlsConfigKeysTest, TlsEndpointsParse) {
    auto ep = parse_endpoint("tls/[::1]:7447");
    ASSERT_TRUE(ep) << ep.error().message();
    EXPECT_EQ(ep->protocol, "tls");
    EXPECT_EQ(ep->to_string(), "tls/[::1]:7447");
    EXPECT_FALSE(parse_endpoint("quic/1.2.3.4:7447"));
}

TEST(TlsConfigKeysTest, ConnectIgnoresTheClientCertificateWithoutMtls) {
    TlsKeys keys;
    keys.connect_certificate.path = "/nonexistent/client.pem";
    keys.connect_private_key.path = "/nonexistent/client-key.pem";
    auto config = connect_tls_config(keys);  // as Zenoh: only mTLS reads them
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_FALSE(config->certificate.has_value());
    keys.enable_mtls = true;
    EXPECT_FALSE(connect_tls_config(keys));
}

}  // namespace
}  // namespace dora::zenoh
