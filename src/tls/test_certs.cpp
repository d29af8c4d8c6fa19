#include "tls/test_certs.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <random>
#include <stdexcept>

namespace dora::tls::testing {

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("test certificate: ") + what + " failed");
    }
}

EVP_PKEY* new_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    check(key != nullptr, "EVP_EC_gen");
    return key;
}

std::string key_pem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
}

std::string cert_pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_X509(bio, cert) == 1, "PEM_write_bio_X509");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when issuer is null).
X509* new_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
               std::chrono::seconds not_before, std::chrono::seconds not_after) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    static std::mt19937_64 serials{std::random_device{}()};
    ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), static_cast<int64_t>(serials() >> 2));
    X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(not_before.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(not_after.count()));
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer != nullptr ? issuer : cert;
    if (issuer == nullptr) {
        add_extension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert, signer, NID_key_usage, "critical,digitalSignature");
        add_extension(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    add_extension(cert, signer, NID_subject_key_identifier, "hash");
    check(X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

}  // namespace

struct TestCa::Impl {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    ~Impl() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

TestCa::TestCa(const std::string& name) : impl_(std::make_unique<Impl>()) {
    impl_->key = new_key();
    impl_->cert = new_cert(impl_->key, name, nullptr, nullptr, std::chrono::hours(-1),
                           std::chrono::hours(24 * 30));
    pem_ = {cert_pem(impl_->cert), key_pem(impl_->key)};
}

TestCa::~TestCa() = default;

KeyPair TestCa::issue(const LeafOptions& options) const {
    EVP_PKEY* key = new_key();
    X509* cert = new_cert(key, options.common_name, impl_->cert, impl_->key, options.not_before,
                          options.not_after);
    std::string names;
    for (const auto& dns : options.dns_names) {
        names += (names.empty() ? "DNS:" : ",DNS:") + dns;
    }
    for (const auto& ip : options.ip_addresses) {
        names += (names.empty() ? "IP:" : ",IP:") + ip;
    }
    if (!names.empty()) {
        add_extension(cert, impl_->cert, NID_subject_alt_name, names);
        check(X509_sign(cert, impl_->key, EVP_sha256()) > 0, "X509_sign");
    }
    KeyPair out{cert_pem(cert), key_pem(key)};
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

}  // namespace dora::tls::testing
