#include "tls/x509_text.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace dora::tls::detail {

namespace {

std::string name_text(const X509_NAME* name) {
    if (name == nullptr) {
        return "(none)";
    }
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) {
        return "(unknown)";
    }
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
    BIO_free(bio);
    return out.empty() ? "(empty subject)" : out;
}

std::optional<std::tm> time_tm(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        return std::nullopt;
    }
    return tm;
}

std::string time_text(const ASN1_TIME* t) {
    auto tm = time_tm(t);
    if (!tm) {
        return "(unreadable date)";
    }
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &*tm);
    return buf;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    int len = ASN1_STRING_length(ip);
    const unsigned char* data = ASN1_STRING_get0_data(ip);
    if (len == 4) {
        inet_ntop(AF_INET, data, buf, sizeof buf);
    } else if (len == 16) {
        inet_ntop(AF_INET6, data, buf, sizeof buf);
    } else {
        return "(malformed IP)";
    }
    return buf;
}

}  // namespace

std::string subject_of(const X509* cert) { return name_text(X509_get_subject_name(cert)); }

std::string issuer_of(const X509* cert) { return name_text(X509_get_issuer_name(cert)); }

std::string not_after_of(const X509* cert) { return time_text(X509_get0_notAfter(cert)); }

std::string not_before_of(const X509* cert) { return time_text(X509_get0_notBefore(cert)); }

std::optional<std::chrono::system_clock::time_point> not_after_time(const X509* cert) {
    auto tm = time_tm(X509_get0_notAfter(cert));
    if (!tm) {
        return std::nullopt;
    }
    return std::chrono::system_clock::from_time_t(timegm(&*tm));
}

std::string names_of(const X509* cert) {
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    std::string out;
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        std::string item;
        if (name->type == GEN_DNS) {
            const ASN1_STRING* s = name->d.dNSName;
            item = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<size_t>(ASN1_STRING_length(s)));
        } else if (name->type == GEN_IPADD) {
            item = "IP:" + ip_text(name->d.iPAddress);
        } else {
            continue;
        }
        out += (out.empty() ? "" : ", ") + item;
    }
    GENERAL_NAMES_free(names);
    return out.empty() ? "no subjectAltName names at all" : out;
}

std::string drain_openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += (out.empty() ? "" : "; ") + std::string(buf);
    }
    return out;
}

}  // namespace dora::tls::detail
