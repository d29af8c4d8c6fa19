// The cluster CA: issuing from a signing request (chain, names, usages, validity), what it
// refuses (bad signatures, foreign keys, mismatched or bad names), verification under the wrong
// CA or after expiry, renewal time, and the CA's files (modes, reuse, refusals).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>

#include "pki/ca.hpp"
#include "pki/ca_store.hpp"
#include "pki/certificate.hpp"
#include "pki/files.hpp"
#include "pki/keys.hpp"
#include "pki/names.hpp"
#include "testing/temp_dir.hpp"

namespace dora::pki {
namespace {

namespace fs = std::filesystem;

CertificateAuthority new_ca(int days = 3650) {
    auto ca = CertificateAuthority::create(CaOptions{"test CA", days});
    EXPECT_TRUE(ca) << ca.error().message();
    return std::move(*ca);
}

struct Requester {
    std::string key = generate_key().value();
    std::string csr(const std::string& name) const { return make_csr(key, name).value(); }
};

Issued issue(const CertificateAuthority& ca, const std::string& name,
             std::vector<std::string> alt_names = {}, int days = kDefaultCertificateDays) {
    Requester requester;
    auto issued = ca.issue({requester.csr(name), name, std::move(alt_names), days});
    EXPECT_TRUE(issued) << issued.error().message();
    return issued.value_or(Issued{});
}

std::string error_of(const Result<Issued>& result) {
    return result ? std::string("(issued)") : result.error().message();
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

// A CSR for `name` carrying the public key of `carried` but signed with `signer`.
std::string csr_signed_by_other_key(const std::string& name, const std::string& carried,
                                    const std::string& signer) {
    auto read_key = [](const std::string& pem) {
        BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        return key;
    };
    EVP_PKEY* carried_key = read_key(carried);
    EVP_PKEY* signer_key = read_key(signer);
    X509_REQ* req = X509_REQ_new();
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req, carried_key);
    X509_REQ_sign(req, signer_key, EVP_sha256());
    BIO* out = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(out, req);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    std::string pem(data, static_cast<size_t>(size));
    BIO_free(out);
    X509_REQ_free(req);
    EVP_PKEY_free(carried_key);
    EVP_PKEY_free(signer_key);
    return pem;
}

std::string p384_key() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    BIO* out = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    std::string pem(data, static_cast<size_t>(size));
    BIO_free(out);
    EVP_PKEY_free(key);
    return pem;
}

TEST(CertificateAuthority, IssuedCertificateVerifiesUnderItsCaForItsName) {
    auto ca = new_ca();
    auto issued = issue(ca, "edge1");
    EXPECT_TRUE(verify_certificate(issued.certificate_pem, ca.certificate_pem(), "edge1"));
    auto info = inspect_certificate(issued.certificate_pem).value();
    EXPECT_EQ(info.common_name, "edge1");
    EXPECT_EQ(info.dns_names, std::vector<std::string>{"edge1"});
    EXPECT_TRUE(info.server_auth);
    EXPECT_TRUE(info.client_auth);
    EXPECT_FALSE(info.is_ca);
    EXPECT_EQ(info.serial, issued.serial);
    EXPECT_EQ(info.not_after, issued.not_after);
}

TEST(CertificateAuthority, CaCertificateIsACaValidForTheConfiguredDays) {
    auto ca = new_ca(100);
    auto info = inspect_certificate(ca.certificate_pem()).value();
    EXPECT_TRUE(info.is_ca);
    EXPECT_NEAR(static_cast<double>(info.not_after - unix_now()), 100.0 * 86400, 60);
}

TEST(CertificateAuthority, ValidityIsTheRequestedDays) {
    auto ca = new_ca();
    auto issued = issue(ca, "edge1", {}, 7);
    EXPECT_NEAR(static_cast<double>(issued.not_after - unix_now()), 7.0 * 86400, 60);
}

TEST(CertificateAuthority, ValidityNeverOutlastsTheCa) {
    auto ca = new_ca(2);
    auto issued = issue(ca, "edge1", {}, 30);
    EXPECT_EQ(issued.not_after, ca.not_after());
}

TEST(CertificateAuthority, SerialsAreRandom) {
    auto ca = new_ca();
    EXPECT_NE(issue(ca, "a").serial, issue(ca, "a").serial);
    EXPECT_GE(issue(ca, "a").serial.size(), 30u);
}

TEST(CertificateAuthority, AddressesGoIntoIpAltNamesAndVerify) {
    auto ca = new_ca();
    auto issued = issue(ca, "router", {"10.0.0.2", "router.example.com", "::1"});
    auto info = inspect_certificate(issued.certificate_pem).value();
    EXPECT_EQ(info.dns_names, (std::vector<std::string>{"router", "router.example.com"}));
    EXPECT_EQ(info.ip_addresses, (std::vector<std::string>{"10.0.0.2", "::1"}));
    EXPECT_TRUE(verify_certificate(issued.certificate_pem, ca.certificate_pem(), "10.0.0.2"));
    EXPECT_TRUE(
        verify_certificate(issued.certificate_pem, ca.certificate_pem(), "router.example.com"));
}

TEST(CertificateAuthority, VerificationForAnotherNameFails) {
    auto ca = new_ca();
    auto issued = issue(ca, "edge1");
    auto result = verify_certificate(issued.certificate_pem, ca.certificate_pem(), "edge2");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("hostname mismatch"), std::string::npos)
        << result.error().message();
}

TEST(CertificateAuthority, VerificationUnderAnotherCaFails) {
    auto ca = new_ca();
    auto other = new_ca();
    auto issued = issue(ca, "edge1");
    auto result = verify_certificate(issued.certificate_pem, other.certificate_pem(), "edge1");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("unable to get local issuer certificate"),
              std::string::npos)
        << result.error().message();
}

TEST(CertificateAuthority, VerificationAfterExpiryFails) {
    auto ca = new_ca();
    auto issued = issue(ca, "edge1", {}, 1);
    EXPECT_TRUE(verify_certificate(issued.certificate_pem, ca.certificate_pem(), "edge1",
                                   issued.not_after - 60));
    auto result = verify_certificate(issued.certificate_pem, ca.certificate_pem(), "edge1",
                                     issued.not_after + 60);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("expired"), std::string::npos)
        << result.error().message();
}

TEST(CertificateAuthority, CsrWithABadSignatureIsRefused) {
    auto ca = new_ca();
    const std::string csr =
        csr_signed_by_other_key("edge1", generate_key().value(), generate_key().value());
    auto result = ca.issue({csr, "edge1", {}, 30});
    EXPECT_NE(error_of(result).find("bad signature"), std::string::npos) << error_of(result);
}

TEST(CertificateAuthority, CsrThatIsNotPemIsRefused) {
    auto ca = new_ca();
    auto result = ca.issue({"hello", "edge1", {}, 30});
    EXPECT_NE(error_of(result).find("not a PEM certificate signing request"), std::string::npos)
        << error_of(result);
}

TEST(CertificateAuthority, CsrForAnotherNameIsRefused) {
    auto ca = new_ca();
    Requester requester;
    auto result = ca.issue({requester.csr("edge1"), "cloud", {}, 30});
    EXPECT_NE(error_of(result).find("names `edge1` but the certificate asked for is `cloud`"),
              std::string::npos)
        << error_of(result);
}

TEST(CertificateAuthority, KeyOtherThanP256IsRefusedByName) {
    auto ca = new_ca();
    const std::string key = p384_key();
    auto result = ca.issue({make_csr(key, "edge1").value(), "edge1", {}, 30});
    EXPECT_NE(error_of(result).find("carries a ECDSA secp384r1 key"), std::string::npos)
        << error_of(result);
}

TEST(CertificateAuthority, DaysOutOfRangeAreRefused) {
    auto ca = new_ca();
    Requester requester;
    EXPECT_NE(error_of(ca.issue({requester.csr("a"), "a", {}, 0})).find("1 to 3650 days"),
              std::string::npos);
    EXPECT_NE(error_of(ca.issue({requester.csr("a"), "a", {}, 4000})).find("not 4000"),
              std::string::npos);
}

TEST(CertificateAuthority, BadAltNameIsRefused) {
    auto ca = new_ca();
    Requester requester;
    auto result = ca.issue({requester.csr("a"), "a", {"*.example.com"}, 30});
    EXPECT_NE(error_of(result).find("wildcards are not issued"), std::string::npos)
        << error_of(result);
}

TEST(CertificateAuthority, IssuedKeyMatchesOnlyItsRequester) {
    auto ca = new_ca();
    Requester requester;
    auto issued = ca.issue({requester.csr("a"), "a", {}, 30}).value();
    EXPECT_TRUE(key_matches_certificate(requester.key, issued.certificate_pem).value());
    EXPECT_FALSE(key_matches_certificate(generate_key().value(), issued.certificate_pem).value());
}

TEST(CertificateAuthority, LoadRefusesAKeyOfAnotherCa) {
    auto ca = new_ca();
    auto other = new_ca();
    auto loaded = CertificateAuthority::load(other.key_pem().value(), ca.certificate_pem());
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("does not belong"), std::string::npos);
}

TEST(Names, HostNamesAndAddressesAreAccepted) {
    for (const char* name : {"edge1", "router.example.com", "edge_1", "Edge-1", "a"}) {
        auto kind = check_name(name);
        ASSERT_TRUE(kind) << name << ": " << kind.error().message();
        EXPECT_EQ(*kind, NameKind::kDns) << name;
    }
    for (const char* name : {"10.0.0.2", "::1", "fe80::1"}) {
        auto kind = check_name(name);
        ASSERT_TRUE(kind) << name;
        EXPECT_EQ(*kind, NameKind::kIp) << name;
    }
}

TEST(Names, BadNamesAreRefusedSayingWhy) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "empty"},
        {"*", "wildcards"},
        {"*.example.com", "wildcards"},
        {"a b", "contains ` `"},
        {"a/b", "contains `/`"},
        {std::string("a\nb"), "contains `\\x0a`"},
        {"a..b", "empty part"},
        {".a", "empty part"},
        {"a.", "empty part"},
        {"-a", "starts or ends with `-`"},
        {"a.b-", "starts or ends with `-`"},
        {std::string(64, 'a'), "64 characters"},
        {std::string(127, 'a') + "." + std::string(127, 'b'), "255 characters"},
        {"1.2.3", "incomplete IP address"},
        {"é", "contains"},
    };
    for (const auto& [name, why] : cases) {
        auto kind = check_name(name);
        ASSERT_FALSE(kind) << name;
        EXPECT_NE(kind.error().message().find(why), std::string::npos)
            << name << ": " << kind.error().message();
    }
}

TEST(Renewal, DueAfterTwoThirdsOfTheLife) {
    CertificateInfo info;
    info.not_before = 1000;
    info.not_after = 1000 + 30 * 86400;
    EXPECT_EQ(renewal_time(info.not_before, info.not_after), 1000 + 20 * 86400);
    EXPECT_FALSE(needs_renewal(info, 1000 + 20 * 86400 - 1));
    EXPECT_TRUE(needs_renewal(info, 1000 + 20 * 86400));
}

TEST(CaStore, CreatesPrivateFilesAndReusesThem) {
    testing::TempDir dir("dora-pki-test");
    const fs::path state = dir / "state" / "coordinator";
    auto first = open_ca(state);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_TRUE(first->created);
    EXPECT_EQ(mode_of(state), 0700u);
    EXPECT_EQ(mode_of(state / "ca.key"), 0600u);
    EXPECT_EQ(mode_of(state / "ca.crt"), 0644u);
    auto second = open_ca(state);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_FALSE(second->created);
    EXPECT_EQ(second->ca.certificate_pem(), first->ca.certificate_pem());
    EXPECT_EQ(second->ca.certificate_pem(), read_file(state / "ca.crt").value());
    auto issued = issue(second->ca, "edge1");
    EXPECT_TRUE(verify_certificate(issued.certificate_pem, first->ca.certificate_pem(), "edge1"));
}

TEST(CaStore, KeyReadableByOthersIsRefused) {
    testing::TempDir dir("dora-pki-test");
    ASSERT_TRUE(open_ca(dir / "state"));
    fs::permissions(dir / "state" / "ca.key", fs::perms::group_read, fs::perm_options::add);
    auto again = open_ca(dir / "state");
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("chmod 600"), std::string::npos)
        << again.error().message();
}

TEST(CaStore, DirectoryWritableByOthersIsRefused) {
    testing::TempDir dir("dora-pki-test");
    fs::create_directories(dir / "state");
    fs::permissions(dir / "state", fs::perms::others_write, fs::perm_options::add);
    auto opened = open_ca(dir / "state");
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message().find("chmod 700"), std::string::npos)
        << opened.error().message();
}

TEST(CaStore, UnwritableStateDirectoryIsRefused) {
    testing::TempDir dir("dora-pki-test");
    dir.write("file", "not a directory");
    auto opened = open_ca(dir / "file" / "state");
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message().find("state directory"), std::string::npos)
        << opened.error().message();
}

TEST(CaStore, KeyWithoutCertificateIsRefused) {
    testing::TempDir dir("dora-pki-test");
    ASSERT_TRUE(open_ca(dir / "state"));
    fs::remove(dir / "state" / "ca.crt");
    auto opened = open_ca(dir / "state");
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message().find("incomplete"), std::string::npos)
        << opened.error().message();
    EXPECT_TRUE(fs::exists(dir / "state" / "ca.key"));  // nothing was overwritten
}

TEST(Files, WriteRefusesToOverwriteUnlessAsked) {
    testing::TempDir dir("dora-pki-test");
    ASSERT_TRUE(write_file(dir / "a.key", "one", 0600, false));
    auto again = write_file(dir / "a.key", "two", 0600, false);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("--force"), std::string::npos);
    EXPECT_EQ(read_file(dir / "a.key").value(), "one");
    ASSERT_TRUE(write_file(dir / "a.key", "two", 0600, true));
    EXPECT_EQ(read_private_file(dir / "a.key").value(), "two");
    EXPECT_EQ(mode_of(dir / "a.key"), 0600u);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace dora::pki
