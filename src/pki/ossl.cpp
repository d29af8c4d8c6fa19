// OpenSSL handles, PEM conversion and error text (ossl.hpp).
#include "pki/ossl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>
#include <limits>

namespace dora::pki::ossl {

Error error(std::string_view what) {
    std::string reasons;
    while (unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        reasons += reasons.empty() ? "" : "; ";
        reasons += text;
    }
    return Error::make("{}: {}", what, reasons.empty() ? "OpenSSL gave no reason" : reasons);
}

void clear_errors() { ERR_clear_error(); }

namespace {

Result<Bio> memory_bio(std::string_view text) {
    if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
        return fail("PEM text of {} bytes is too large", text.size());
    }
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) {
        return fail(error("cannot allocate a memory BIO"));
    }
    return bio;
}

template <typename Write>
Result<std::string> to_pem(Write write, std::string_view what) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) {
        return fail(error(fmt::format("cannot write {} as PEM", what)));
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
}

// Reads one PEM object with `read` (PEM_read_bio_X509 ...) into the handle type H.
template <typename H, typename Read>
Result<H> read_pem(std::string_view pem, std::string_view what, std::string_view kind, Read read) {
    auto bio = memory_bio(pem);
    if (!bio) return fail(bio.error());
    H object(read(bio->get(), nullptr, nullptr, nullptr));
    if (!object) {
        return fail(error(fmt::format("{} is not a PEM {}", what, kind)));
    }
    return object;
}

}  // namespace

Result<Key> read_key(std::string_view pem, std::string_view what) {
    return read_pem<Key>(pem, what, "private key", PEM_read_bio_PrivateKey);
}

Result<Cert> read_cert(std::string_view pem, std::string_view what) {
    return read_pem<Cert>(pem, what, "certificate", PEM_read_bio_X509);
}

Result<Req> read_req(std::string_view pem, std::string_view what) {
    return read_pem<Req>(pem, what, "certificate signing request", PEM_read_bio_X509_REQ);
}

Result<std::string> key_pem(EVP_PKEY* key) {
    return to_pem(
        [key](BIO* bio) {
            return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        },
        "a private key");
}

Result<std::string> cert_pem(X509* cert) {
    return to_pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); }, "a certificate");
}

Result<std::string> req_pem(X509_REQ* req) {
    return to_pem([req](BIO* bio) { return PEM_write_bio_X509_REQ(bio, req); },
                  "a signing request");
}

Result<Key> new_p256_key() {
    Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        return fail(error("cannot generate an ECDSA P-256 key"));
    }
    return key;
}

Result<int64_t> unix_time(const ASN1_TIME* time) {
    tm parts{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
        return fail(error("cannot read a certificate time"));
    }
    return static_cast<int64_t>(timegm(&parts));
}

}  // namespace dora::pki::ossl
