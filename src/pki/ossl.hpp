// Internal to src/pki: owning handles for the OpenSSL objects the module uses, PEM in and out of
// memory, and OpenSSL's error queue turned into Error values. Not included outside src/pki.
//
// Thread safety: free functions; OpenSSL's per-thread error queue is drained by the thread that
// filled it.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::pki::ossl {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};

using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

// "<what>: <OpenSSL's reasons, oldest first>"; empties the thread's error queue.
[[nodiscard]] Error error(std::string_view what);
// Empties the thread's error queue (where the caller words the error itself).
void clear_errors();

// PEM text -> object; the error names `what` ("the CA certificate", "the signing request").
[[nodiscard]] Result<Key> read_key(std::string_view pem, std::string_view what);
[[nodiscard]] Result<Cert> read_cert(std::string_view pem, std::string_view what);
[[nodiscard]] Result<Req> read_req(std::string_view pem, std::string_view what);

// Object -> PEM text (a private key as unencrypted PKCS#8).
[[nodiscard]] Result<std::string> key_pem(EVP_PKEY* key);
[[nodiscard]] Result<std::string> cert_pem(X509* cert);
[[nodiscard]] Result<std::string> req_pem(X509_REQ* req);

// A new ECDSA P-256 key.
[[nodiscard]] Result<Key> new_p256_key();

// Seconds since the Unix epoch of an ASN1_TIME.
[[nodiscard]] Result<int64_t> unix_time(const ASN1_TIME* time);

}  // namespace dora::pki::ossl
