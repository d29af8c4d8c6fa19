#include "tls/context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "tls/x509_text.hpp"

namespace dora::tls {

namespace {

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only. TLS 1.3's are all of that kind.
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(const std::string& text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Result<std::vector<detail::X509Ptr>> read_certificates(const Pem& pem) {
    auto bio = memory_bio(pem.text);
    std::vector<detail::X509Ptr> out;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        out.emplace_back(cert);
    }
    ERR_clear_error();  // the end of the text reads as an error
    if (out.empty()) {
        return fail("{}: no certificate in it (no '-----BEGIN CERTIFICATE-----' block)",
                    pem.origin);
    }
    return out;
}

Result<EVP_PKEY*> read_private_key(const Pem& pem) {
    auto bio = memory_bio(pem.text);
    // No passphrase callback: an encrypted key fails here instead of prompting on a terminal.
    auto no_passphrase = [](char*, int, int, void*) { return 0; };
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
    std::string why = detail::drain_openssl_errors();
    if (key != nullptr) {
        return key;
    }
    if (pem.text.find("ENCRYPTED") != std::string::npos) {
        return fail(
            "{} is encrypted with a passphrase: give an unencrypted key (openssl pkey "
            "-in key.pem -out plain-key.pem)",
            pem.origin);
    }
    return fail("{}: no private key in it (PKCS#8, RSA or EC PEM expected; OpenSSL: {})",
                pem.origin, why);
}

std::string describe(const detail::X509Ptr& cert) {
    return fmt::format("{}, valid until {}", detail::subject_of(cert.get()),
                       detail::not_after_of(cert.get()));
}

Result<SSL_CTX*> new_context(const TlsConfig& config) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    if (ctx == nullptr) {
        return fail("cannot create a TLS context: {}", detail::drain_openssl_errors());
    }
    SSL_CTX_set_min_proto_version(ctx, config.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Partial writes: SSL_write reports each record as it goes, like send() reports bytes.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

}  // namespace

TlsContext::TlsContext(Role role, SSL_CTX* ctx, const TlsConfig& config)
    : role_(role), ctx_(ctx), wording_(config.wording), verify_name_(config.verify_name) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<> TlsContext::load_root_ca(const Pem& pem, bool also_client_ca_list) {
    auto certs = read_certificates(pem);
    if (!certs) {
        return fail(certs.error());
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    std::string subjects;
    for (const auto& cert : *certs) {
        if (X509_STORE_add_cert(store, cert.get()) != 1) {
            return fail("{}: cannot use it as a CA: {}", pem.origin,
                        detail::drain_openssl_errors());
        }
        if (also_client_ca_list) {
            SSL_CTX_add_client_CA(ctx_, cert.get());
        }
        subjects += (subjects.empty() ? "" : "; ") + detail::subject_of(cert.get());
    }
    root_ca_ = fmt::format("{}, {}", pem.origin, subjects);
    return {};
}

Result<> TlsContext::load_certificate(const Pem& certificate, const Pem& key) {
    auto certs = read_certificates(certificate);
    if (!certs) {
        return fail(certs.error());
    }
    auto pkey = read_private_key(key);
    if (!pkey) {
        return fail(pkey.error());
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(*pkey, EVP_PKEY_free);
    const auto& leaf = certs->front();
    if (SSL_CTX_use_certificate(ctx_, leaf.get()) != 1) {
        return fail("{}: OpenSSL refuses the certificate: {}", certificate.origin,
                    detail::drain_openssl_errors());
    }
    for (size_t i = 1; i < certs->size(); ++i) {
        SSL_CTX_add1_chain_cert(ctx_, (*certs)[i].get());
    }
    if (SSL_CTX_use_PrivateKey(ctx_, owned.get()) != 1 || SSL_CTX_check_private_key(ctx_) != 1) {
        ERR_clear_error();
        return fail("{} is not the key of {} ({}): give the key the certificate was made for",
                    key.origin, certificate.origin, detail::subject_of(leaf.get()));
    }
    certificate_ = fmt::format("{}, {}", certificate.origin, describe(leaf));
    certificate_not_after_ = detail::not_after_time(leaf.get());
    return {};
}

Result<std::shared_ptr<TlsContext>> TlsContext::make(Role role, const TlsConfig& config,
                                                     bool with_root_ca) {
    auto ctx = new_context(config);
    if (!ctx) {
        return fail(ctx.error());
    }
    std::shared_ptr<TlsContext> out(new TlsContext(role, *ctx, config));
    if (config.certificate) {
        if (auto loaded = out->load_certificate(*config.certificate, *config.private_key);
            !loaded) {
            return fail(loaded.error());
        }
    }
    if (with_root_ca && config.root_ca) {
        if (auto ca = out->load_root_ca(*config.root_ca, role == Role::kServer); !ca) {
            return fail(ca.error());
        }
    }
    return out;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsConfig& config) {
    const Wording& w = config.wording;
    if (!config.certificate || !config.private_key) {
        return fail("a TLS listener needs a certificate and its key: set {} and {}",
                    w.listen_certificate, w.listen_private_key);
    }
    if (config.require_client_certificate && !config.root_ca) {
        return fail("{} needs {} (the CA that signs the clients' certificates): set it", w.mutual,
                    w.root_ca);
    }
    // Without mutual TLS a server checks no certificate: its root CA plays no part.
    auto out = make(Role::kServer, config, config.require_client_certificate);
    if (!out) {
        return fail(out.error());
    }
    SSL_CTX_set_verify((*out)->ctx_,
                       config.require_client_certificate
                           ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                           : SSL_VERIFY_NONE,
                       nullptr);
    return std::shared_ptr<const TlsContext>(std::move(*out));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsConfig& config) {
    const Wording& w = config.wording;
    if (config.certificate.has_value() != config.private_key.has_value()) {
        return fail(
            "a TLS client certificate needs its key and the other way round: set both {} "
            "and {}",
            w.connect_certificate, w.connect_private_key);
    }
    auto out = make(Role::kClient, config, true);
    if (!out) {
        return fail(out.error());
    }
    if (config.system_roots) {
        // Best effort: a machine without a system CA bundle still trusts root_ca.
        SSL_CTX_set_default_verify_paths((*out)->ctx_);
        ERR_clear_error();
    }
    SSL_CTX_set_verify((*out)->ctx_, config.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       nullptr);
    return std::shared_ptr<const TlsContext>(std::move(*out));
}

}  // namespace dora::tls
