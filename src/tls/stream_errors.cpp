// TlsStream: failed handshakes, reads and writes explained: what is wrong, on which side, and
// which setting to change.
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <vector>

#include "tls/stream.hpp"
#include "tls/x509_text.hpp"

namespace dora::tls {

namespace {

constexpr int kAlertCertificateRequired = 116;  // TLS 1.3 (RFC 8446)

std::string alert_name(int alert) {
    if (alert == kAlertCertificateRequired) {
        return "certificate required";
    }
    return SSL_alert_desc_string_long(alert);
}

bool is_untrusted(long code) {
    switch (code) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            return true;
        default:
            return false;
    }
}

// The reasons of this thread's queued OpenSSL errors (the queue is emptied), and their text.
struct OpenSslErrors {
    std::vector<int> reasons;
    std::string text;
};

OpenSslErrors take_errors() {
    OpenSslErrors out;
    while (unsigned long e = ERR_get_error()) {
        out.reasons.push_back(ERR_GET_REASON(e));
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out.text += (out.text.empty() ? "" : "; ") + std::string(buf);
    }
    return out;
}

bool means_not_tls(int reason) {
    return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
           reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH ||
           reason == SSL_R_HTTPS_PROXY_REQUEST || reason == SSL_R_HTTP_REQUEST;
}

bool means_no_common_version(int reason) {
    return reason == SSL_R_NO_SHARED_CIPHER || reason == SSL_R_UNSUPPORTED_PROTOCOL ||
           reason == SSL_R_NO_PROTOCOLS_AVAILABLE || reason == SSL_R_VERSION_TOO_LOW ||
           reason == SSL_R_NO_CIPHERS_AVAILABLE;
}

}  // namespace

Error TlsStream::failure(int ssl_error) {
    OpenSslErrors errors = take_errors();
    // TLS records are of types 20 to 24; a server that answered with anything else (and may
    // have closed before OpenSSL had a whole record header) does not speak TLS.
    int first = socket_.first_byte;
    if (context_->role() == TlsContext::Role::kClient && !established_ && first >= 0 &&
        (first < 20 || first > 24)) {
        return not_tls();
    }
    if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
        if (socket_.error != 0) {
            return Error::make("TLS with {}: {}", who(), std::strerror(socket_.error))
                .with_code(socket_.error);
        }
        return closed_during_handshake();
    }
    if (verify_.code != X509_V_OK) {
        return verify_error();
    }
    for (int reason : errors.reasons) {
        if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
            return no_client_certificate();
        }
        if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
            return alert_error(reason - SSL_AD_REASON_OFFSET);
        }
        if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            return closed_during_handshake();
        }
        if (means_not_tls(reason) && context_->role() == TlsContext::Role::kClient) {
            return not_tls();
        }
        if (means_no_common_version(reason)) {
            return Error::make(
                "{} and we have no TLS version or cipher in common ({}): dora-cpp speaks TLS "
                "1.3, and 1.2 with ECDHE and AEAD ciphers unless {} is on",
                who(), errors.text, context_->wording().mutual);
        }
    }
    return Error::make("TLS with {} failed: {}", who(),
                       errors.text.empty() ? "no reason given by OpenSSL" : errors.text);
}

Error TlsStream::verify_error() const {
    const VerifyFailure& f = verify_;
    const Wording& w = context_->wording();
    std::string head =
        fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(f.code));
    std::string what =
        f.depth == 0 ? fmt::format("the certificate of {}", who())
                     : fmt::format("the CA certificate {} in the chain of {}", f.subject, who());
    if (is_untrusted(f.code)) {
        if (context_->root_ca().empty()) {
            return Error::make(
                "{}: {} ({}, issued by {}) is not signed by a CA we trust ({} is not set; only "
                "the system's CAs are trusted): set {} to the CA that signed it",
                head, what, f.subject, f.issuer, w.root_ca, w.root_ca);
        }
        return Error::make(
            "{}: {} ({}, issued by {}) is not signed by the configured {} ({}): give it a "
            "certificate signed by that CA, or set {} to the CA that signed it",
            head, what, f.subject, f.issuer, w.root_ca, context_->root_ca(), w.root_ca);
    }
    switch (f.code) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return Error::make("{}: {} ({}) expired on {} (its notAfter): it needs a new one", head,
                               what, f.subject, f.not_after);
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return Error::make(
                "{}: {} ({}) is valid only from {} (its notBefore): check both machines' clocks",
                head, what, f.subject, f.not_before);
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return Error::make(
                "{}: {} ({}) is for {}, but we dialled '{}': dial one of those names, give the "
                "server a certificate whose subjectAltName has '{}', or set {} to false",
                head, what, f.subject, f.names, host_, host_, w.verify_name);
        default:
            return Error::make("{}: {} ({}, issued by {})", head, what, f.subject, f.issuer);
    }
}

Error TlsStream::alert_error(int alert) const {
    const Wording& w = context_->wording();
    bool client = context_->role() == TlsContext::Role::kClient;
    std::string ours = context_->certificate();
    if (alert == kAlertCertificateRequired || (client && ours.empty() && alert == 42)) {
        return Error::make(
            "{} requires a client certificate ({} on its side) and we presented none (TLS alert "
            "'{}'): turn {} on here too, with {} and {} signed by a CA it trusts",
            who(), w.mutual, alert_name(alert), w.mutual, w.connect_certificate,
            w.connect_private_key);
    }
    std::string head = fmt::format("{} refused our certificate ({}) with TLS alert '{}'", who(),
                                   ours.empty() ? "none" : ours, alert_name(alert));
    switch (alert) {
        case 48:  // unknown_ca
            return Error::make(
                "{}: it is not signed by a CA {} trusts: give us a certificate from its CA, or "
                "add the CA that signed ours to its {}",
                head, client ? "the server" : "the client", w.root_ca);
        case 45:  // certificate_expired
            return Error::make("{}: ours expired (or a clock is wrong): renew {}", head,
                               client ? w.connect_certificate : w.listen_certificate);
        case 42:  // bad_certificate
        case 43:  // unsupported_certificate
        case 46:  // certificate_unknown
            return Error::make("{}: {}its log says why", head,
                               client ? "" : "the name it dialled may not be in ours; ");
        case 40:  // handshake_failure
        case 70:  // protocol_version
        case 71:  // insufficient_security
            return Error::make(
                "{} and we have no TLS version or cipher in common (TLS alert '{}'): dora-cpp "
                "speaks TLS 1.3, and 1.2 with ECDHE and AEAD ciphers unless {} is on",
                who(), alert_name(alert), w.mutual);
        default:
            return Error::make("TLS alert '{}' from {}", alert_name(alert), who());
    }
}

Error TlsStream::no_client_certificate() const {
    const Wording& w = context_->wording();
    return Error::make(
        "{} presented no certificate, but {} is on here: give it a certificate signed by the CA "
        "in {} ({} and {} on its side), and turn {} on there",
        who(), w.mutual, context_->root_ca(), w.connect_certificate, w.connect_private_key,
        w.mutual);
}

Error TlsStream::closed_during_handshake() const {
    if (context_->role() == TlsContext::Role::kClient) {
        return Error::make(
            "{} closed the connection during the TLS handshake: it may not speak TLS ({}), or it "
            "refused us (its log says why)",
            who(), context_->wording().use_plain);
    }
    return Error::make(
        "{} closed the connection during the TLS handshake: it may have refused our certificate "
        "({}; its log says why)",
        who(), context_->certificate());
}

Error TlsStream::not_tls() const {
    return Error::make("{} does not speak TLS (its answer is no TLS record): {}", who(),
                       context_->wording().use_plain);
}

Error TlsStream::plain_peer() const {
    const Wording& w = context_->wording();
    return Error::make("the peer at {} spoke plain TCP to {}: {}", peer_, w.tls_port, w.use_tls);
}

Error TlsStream::handshake_timeout(std::chrono::milliseconds timeout) const {
    if (context_->role() == TlsContext::Role::kClient) {
        return Error::make(
            "no TLS handshake with {} within {} ms: it may not speak TLS ({}), or not answer",
            who(), timeout.count(), context_->wording().use_plain);
    }
    return Error::make("{} did not finish the TLS handshake within {} ms", who(), timeout.count());
}

}  // namespace dora::tls
