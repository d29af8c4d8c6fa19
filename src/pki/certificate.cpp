// Certificate inspection, chain verification and renewal time (certificate.hpp).
#include "pki/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>

#include <chrono>

#include "pki/names.hpp"
#include "pki/ossl.hpp"

namespace dora::pki {

namespace {

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char text[INET6_ADDRSTRLEN] = {};
    const int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : 0;
    if (family == 0 || inet_ntop(family, ip->data, text, sizeof text) == nullptr) {
        return "?";
    }
    return text;
}

std::string common_name(X509* cert) {
    X509_NAME* subject = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return "";
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<size_t>(ASN1_STRING_length(data)));
}

void read_alt_names(X509* cert, CertificateInfo& info) {
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            const ASN1_IA5STRING* dns = name->d.dNSName;
            info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                        static_cast<size_t>(ASN1_STRING_length(dns)));
        } else if (name->type == GEN_IPADD) {
            info.ip_addresses.push_back(ip_text(name->d.iPAddress));
        }
    }
    GENERAL_NAMES_free(names);
}

Result<std::string> serial_hex(X509* cert) {
    ossl::Bn serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
    if (hex == nullptr) {
        return fail(ossl::error("cannot read the certificate's serial number"));
    }
    std::string text(hex);
    OPENSSL_free(hex);
    return text;
}

}  // namespace

Result<CertificateInfo> inspect_certificate(std::string_view cert_pem) {
    auto cert = ossl::read_cert(cert_pem, "the certificate");
    if (!cert) return fail(cert.error());
    X509* x = cert->get();
    CertificateInfo info;
    info.common_name = common_name(x);
    read_alt_names(x, info);
    auto serial = serial_hex(x);
    auto not_before = ossl::unix_time(X509_get0_notBefore(x));
    auto not_after = ossl::unix_time(X509_get0_notAfter(x));
    if (!serial || !not_before || !not_after) {
        return fail(!serial       ? serial.error()
                    : !not_before ? not_before.error()
                                  : not_after.error());
    }
    info.serial = std::move(*serial);
    info.not_before = *not_before;
    info.not_after = *not_after;
    const uint32_t flags = X509_get_extension_flags(x);
    info.is_ca = (flags & EXFLAG_CA) != 0;
    if ((flags & EXFLAG_XKUSAGE) != 0) {
        const uint32_t eku = X509_get_extended_key_usage(x);
        info.server_auth = (eku & XKU_SSL_SERVER) != 0;
        info.client_auth = (eku & XKU_SSL_CLIENT) != 0;
    }
    return info;
}

Result<> verify_certificate(std::string_view cert_pem, std::string_view ca_pem,
                            std::optional<std::string_view> name, std::optional<int64_t> at) {
    auto cert = ossl::read_cert(cert_pem, "the certificate");
    if (!cert) return fail(cert.error());
    auto ca = ossl::read_cert(ca_pem, "the CA certificate");
    if (!ca) return fail(ca.error());
    ossl::Store store(X509_STORE_new());
    ossl::StoreCtx ctx(X509_STORE_CTX_new());
    if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
        X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
        return fail(ossl::error("cannot set up certificate verification"));
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    if (at) {
        X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*at));
    }
    if (name) {
        auto kind = check_name(*name);
        if (!kind) return fail(kind.error());
        const std::string text(*name);
        const int set = *kind == NameKind::kIp
                            ? X509_VERIFY_PARAM_set1_ip_asc(param, text.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, text.c_str(), text.size());
        if (set != 1) {
            return fail(ossl::error(fmt::format("cannot verify for the name `{}`", text)));
        }
    }
    if (X509_verify_cert(ctx.get()) != 1) {
        const int code = X509_STORE_CTX_get_error(ctx.get());
        return fail("certificate verification failed: {}{}", X509_verify_cert_error_string(code),
                    name ? fmt::format(" (name checked: `{}`)", *name) : std::string());
    }
    return {};
}

int64_t renewal_time(int64_t not_before, int64_t not_after) {
    return not_before + (not_after - not_before) * 2 / 3;
}

bool needs_renewal(const CertificateInfo& info, int64_t now) {
    return now >= renewal_time(info.not_before, info.not_after);
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string utc_text(int64_t unix_seconds) {
    const time_t t = static_cast<time_t>(unix_seconds);
    tm parts{};
    gmtime_r(&t, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
    return text;
}

}  // namespace dora::pki
