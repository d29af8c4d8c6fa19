// The cluster CA in memory (ca.hpp).
#include "pki/ca.hpp"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include <algorithm>

#include "pki/certificate.hpp"
#include "pki/names.hpp"
#include "pki/ossl.hpp"

namespace dora::pki {

struct CertificateAuthority::State {
    ossl::Key key;
    ossl::Cert cert;
    std::string cert_pem;
    int64_t not_after = 0;
};

namespace {

constexpr int64_t kBackdateSeconds = 5 * 60;
constexpr int64_t kDay = 24 * 60 * 60;

Result<> set_random_serial(X509* cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return fail(ossl::error("cannot draw a random serial number"));
    }
    bytes[0] &= 0x7f;  // positive
    bytes[0] |= 0x40;  // and never short
    ossl::Bn serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
        return fail(ossl::error("cannot set a serial number"));
    }
    return {};
}

Result<> set_validity(X509* cert, int64_t not_before, int64_t not_after) {
    if (ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after)) == nullptr) {
        return fail(ossl::error("cannot set a certificate's validity"));
    }
    return {};
}

// Adds the extension `nid` with OpenSSL's config-text `value` ("critical,CA:TRUE").
Result<> add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ossl::Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return fail(
            ossl::error(fmt::format("cannot add the extension {} = {}", OBJ_nid2sn(nid), value)));
    }
    return {};
}

Result<> add_extensions(X509* cert, X509* issuer,
                        const std::vector<std::pair<int, std::string>>& extensions) {
    for (const auto& [nid, value] : extensions) {
        if (auto ok = add_extension(cert, issuer, nid, value); !ok) return ok;
    }
    return {};
}

Result<> set_cn(X509_NAME* name, const std::string& cn) {
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1) {
        return fail(ossl::error(fmt::format("cannot set the name `{}`", cn)));
    }
    return {};
}

Result<> sign(X509* cert, EVP_PKEY* key) {
    if (X509_sign(cert, key, EVP_sha256()) <= 0) {
        return fail(ossl::error("cannot sign a certificate"));
    }
    return {};
}

// The subjectAltName value for `names` ("DNS:edge1,IP:10.0.0.2"), each checked.
Result<std::string> alt_name_value(const std::vector<std::string>& names) {
    std::string value;
    for (const auto& name : names) {
        auto kind = check_name(name);
        if (!kind) return fail(kind.error());
        value += fmt::format("{}{}:{}", value.empty() ? "" : ",",
                             *kind == NameKind::kIp ? "IP" : "DNS", name);
    }
    return value;
}

// The CSR's key must be ECDSA P-256 and its signature must verify with it.
Result<ossl::Key> checked_csr_key(X509_REQ* req, const std::string& name) {
    ossl::Key key(X509_REQ_get_pubkey(req));
    if (!key) {
        return fail(
            ossl::error(fmt::format("the signing request for `{}` has no readable public "
                                    "key",
                                    name)));
    }
    if (X509_REQ_verify(req, key.get()) != 1) {
        ossl::clear_errors();  // the message below says why
        return fail(
            "the signing request for `{}` has a bad signature (it was not made with the "
            "key it carries, or it was altered): make a new one",
            name);
    }
    char group[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &length) != 1 ||
        std::string_view(group) != "prime256v1") {
        ossl::clear_errors();
        return fail(
            "the signing request for `{}` carries a {} key: the cluster CA signs ECDSA "
            "P-256 keys only (`dora cert issue` makes one)",
            name,
            EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC
                ? fmt::format("ECDSA {}", group[0] != '\0' ? group : "(unknown curve)")
                : std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(key.get()))));
    }
    return key;
}

Result<> check_csr_subject(X509_REQ* req, const std::string& name) {
    X509_NAME* subject = X509_REQ_get_subject_name(req);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return {};
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    const std::string_view cn(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                              static_cast<size_t>(ASN1_STRING_length(data)));
    if (cn != name) {
        return fail(
            "the signing request names `{}` but the certificate asked for is `{}`: make "
            "the request for the same name",
            printable_name(cn), name);
    }
    return {};
}

Result<> check_request(const IssueRequest& request) {
    if (auto kind = check_name(request.name); !kind) return fail(kind.error());
    if (request.days < 1 || request.days > kMaxCertificateDays) {
        return fail("a certificate is issued for 1 to {} days, not {}", kMaxCertificateDays,
                    request.days);
    }
    if (request.alt_names.size() > kMaxAltNames) {
        return fail("{} extra names asked for; a certificate carries at most {}",
                    request.alt_names.size(), kMaxAltNames);
    }
    if (request.csr_pem.size() > kMaxCsrBytes) {
        return fail("the signing request has {} bytes; at most {} are accepted",
                    request.csr_pem.size(), kMaxCsrBytes);
    }
    return {};
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

Result<CertificateAuthority> CertificateAuthority::create(const CaOptions& options) {
    if (options.days < 1) {
        return fail("the cluster CA must be valid for at least one day, not {}", options.days);
    }
    auto key = ossl::new_p256_key();
    if (!key) return fail(key.error());
    ossl::Cert cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1) {
        return fail(ossl::error("cannot create the CA certificate"));
    }
    X509* x = cert.get();
    const int64_t now = unix_now();
    auto ok = set_random_serial(x)
                  .and_then([&] { return set_cn(X509_get_subject_name(x), options.common_name); })
                  .and_then([&] { return set_cn(X509_get_issuer_name(x), options.common_name); })
                  .and_then([&] {
                      return set_validity(x, now - kBackdateSeconds, now + options.days * kDay);
                  });
    if (!ok) return fail(ok.error());
    if (X509_set_pubkey(x, key->get()) != 1) {
        return fail(ossl::error("cannot set the CA's public key"));
    }
    ok = add_extensions(x, x,
                        {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                         {NID_key_usage, "critical,keyCertSign,cRLSign"},
                         {NID_subject_key_identifier, "hash"},
                         {NID_authority_key_identifier, "keyid:always"}})
             .and_then([&] { return sign(x, key->get()); });
    if (!ok) return fail(ok.error());
    auto pem = ossl::cert_pem(x);
    if (!pem) return fail(pem.error());
    auto state = std::make_unique<State>();
    state->key = std::move(*key);
    state->cert = std::move(cert);
    state->cert_pem = std::move(*pem);
    state->not_after = now + options.days * kDay;
    return CertificateAuthority(std::move(state));
}

Result<CertificateAuthority> CertificateAuthority::load(std::string_view key_pem,
                                                        std::string_view cert_pem) {
    auto key = ossl::read_key(key_pem, "the CA key");
    if (!key) return fail(key.error());
    auto cert = ossl::read_cert(cert_pem, "the CA certificate");
    if (!cert) return fail(cert.error());
    if (X509_check_private_key(cert->get(), key->get()) != 1) {
        ossl::clear_errors();
        return fail("the CA key does not belong to the CA certificate");
    }
    auto info = inspect_certificate(cert_pem);
    if (!info) return fail(info.error());
    if (!info->is_ca) {
        return fail("the CA certificate (subject `{}`) is not a CA's (no basicConstraints CA:TRUE)",
                    info->common_name);
    }
    if (info->not_after <= unix_now()) {
        return fail("the cluster CA expired on {}", utc_text(info->not_after));
    }
    auto state = std::make_unique<State>();
    state->key = std::move(*key);
    state->cert = std::move(*cert);
    state->cert_pem = std::string(cert_pem);
    state->not_after = info->not_after;
    return CertificateAuthority(std::move(state));
}

const std::string& CertificateAuthority::certificate_pem() const { return state_->cert_pem; }

Result<std::string> CertificateAuthority::key_pem() const {
    return ossl::key_pem(state_->key.get());
}

int64_t CertificateAuthority::not_after() const { return state_->not_after; }

Result<Issued> CertificateAuthority::issue(const IssueRequest& request) const {
    if (auto ok = check_request(request); !ok) return fail(ok.error());
    std::vector<std::string> names{request.name};
    for (const auto& extra : request.alt_names) {
        if (std::find(names.begin(), names.end(), extra) == names.end()) names.push_back(extra);
    }
    auto alt_names = alt_name_value(names);
    if (!alt_names) return fail(alt_names.error());
    auto req = ossl::read_req(request.csr_pem, "the signing request");
    if (!req) return fail(req.error());
    auto key = checked_csr_key(req->get(), request.name);
    if (!key) return fail(key.error());
    if (auto ok = check_csr_subject(req->get(), request.name); !ok) return fail(ok.error());

    ossl::Cert cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1) {
        return fail(ossl::error("cannot create a certificate"));
    }
    X509* x = cert.get();
    X509* ca = state_->cert.get();
    const int64_t now = unix_now();
    const int64_t not_after = std::min(now + request.days * kDay, state_->not_after);
    auto ok = set_random_serial(x)
                  .and_then([&] { return set_cn(X509_get_subject_name(x), request.name); })
                  .and_then([&] {
                      return X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1
                                 ? Result<>{}
                                 : fail(ossl::error("cannot set the issuer"));
                  })
                  .and_then([&] { return set_validity(x, now - kBackdateSeconds, not_after); })
                  .and_then([&] {
                      return X509_set_pubkey(x, key->get()) == 1
                                 ? Result<>{}
                                 : fail(ossl::error("cannot set the public key"));
                  })
                  .and_then([&] {
                      return add_extensions(x, ca,
                                            {{NID_basic_constraints, "critical,CA:FALSE"},
                                             {NID_key_usage, "critical,digitalSignature"},
                                             {NID_ext_key_usage, "serverAuth,clientAuth"},
                                             {NID_subject_alt_name, *alt_names},
                                             {NID_subject_key_identifier, "hash"},
                                             {NID_authority_key_identifier, "keyid:always"}});
                  })
                  .and_then([&] { return sign(x, state_->key.get()); });
    if (!ok) return fail(ok.error());
    auto pem = ossl::cert_pem(x);
    if (!pem) return fail(pem.error());
    auto info = inspect_certificate(*pem);
    if (!info) return fail(info.error());
    return Issued{std::move(*pem), info->serial, info->not_after};
}

}  // namespace dora::pki
