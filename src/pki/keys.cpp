// Keys and signing requests (keys.hpp).
#include "pki/keys.hpp"

#include "pki/names.hpp"
#include "pki/ossl.hpp"

namespace dora::pki {

Result<std::string> generate_key() {
    auto key = ossl::new_p256_key();
    if (!key) return fail(key.error());
    return ossl::key_pem(key->get());
}

Result<std::string> make_csr(std::string_view key_pem, std::string_view name) {
    if (auto kind = check_name(name); !kind) return fail(kind.error());
    auto key = ossl::read_key(key_pem, "the key for the signing request");
    if (!key) return fail(key.error());
    ossl::Req req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) {
        return fail(ossl::error("cannot create a signing request"));
    }
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const std::string cn(name);
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1 ||
        X509_REQ_set_pubkey(req.get(), key->get()) != 1 ||
        X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0) {
        return fail(ossl::error(fmt::format("cannot make a signing request for `{}`", name)));
    }
    return ossl::req_pem(req.get());
}

Result<bool> key_matches_certificate(std::string_view key_pem, std::string_view cert_pem) {
    auto key = ossl::read_key(key_pem, "the private key");
    if (!key) return fail(key.error());
    auto cert = ossl::read_cert(cert_pem, "the certificate");
    if (!cert) return fail(cert.error());
    return X509_check_private_key(cert->get(), key->get()) == 1;
}

}  // namespace dora::pki
