// The daemon's certificate of the cluster CA (certificate_keeper.hpp).
#include "daemon/certificate_keeper.hpp"

#include <algorithm>

#include "message/daemon_to_coordinator.hpp"
#include "pki/certificate.hpp"
#include "pki/keys.hpp"
#include "pki/names.hpp"

namespace dora::daemon {

namespace {

// The renewal timer is re-armed at least daily, so a changed wall clock is noticed.
constexpr std::chrono::seconds kMaxTimer{24 * 60 * 60};

}  // namespace

std::vector<std::string> endpoint_addresses(const std::vector<std::string>& endpoints) {
    std::vector<std::string> out;
    for (const auto& endpoint : endpoints) {
        std::string host = endpoint.substr(endpoint.find('/') + 1);
        host = host.substr(0, host.rfind(':'));
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
        auto kind = pki::check_name(host);
        if (kind && *kind == pki::NameKind::kIp && host != "0.0.0.0" && host != "::" &&
            std::find(out.begin(), out.end(), host) == out.end()) {
            out.push_back(host);
        }
    }
    return out;
}

CertificateKeeper::CertificateKeeper(EventLoop& loop, CertificateKeeperOptions options)
    : loop_(loop), options_(std::move(options)) {}

int64_t CertificateKeeper::wall_now() const {
    return options_.wall_clock ? options_.wall_clock() : pki::unix_now();
}

bool CertificateKeeper::due() const {
    if (!held_) return true;
    auto info = pki::inspect_certificate(held_->certificate_pem);
    return !info || pki::needs_renewal(*info, wall_now());
}

void CertificateKeeper::on_registered(std::vector<std::string> alt_names) {
    alt_names_ = std::move(alt_names);
    pending_id_ = 0;  // a reply to a request of the previous connection is not coming
    retry_ = std::chrono::seconds(0);
    if (due()) {
        ask();
    }
}

void CertificateKeeper::ask() {
    auto key = pki::generate_key();
    auto csr = key ? pki::make_csr(*key, options_.name) : Result<std::string>(fail(key.error()));
    if (!csr) {
        options_.log(fmt::format("cannot ask for a certificate of the cluster CA: {}{}",
                                 csr.error().message(),
                                 pki::check_name(options_.name)
                                     ? ""
                                     : " (the certificate is named by the machine id: choose a "
                                       "--machine-id of letters, digits, `-`, `_` and `.`)"));
        return;
    }
    message::CertificateRequest request;
    request.request_id = next_id_++;
    request.csr_pem = std::move(*csr);
    request.alt_names = alt_names_;
    request.days = options_.days;
    if (!options_.send(message::make(request))) {
        return;  // asked again after the next registration
    }
    pending_key_ = std::move(*key);
    pending_id_ = request.request_id;
}

void CertificateKeeper::handle(const message::CertificateReply& reply) {
    if (reply.request_id != pending_id_ || pending_id_ == 0) {
        return;  // a reply to a request given up on
    }
    pending_id_ = 0;
    if (!reply.error.empty()) {
        retry_ = std::clamp(retry_ * 2, options_.first_retry, options_.max_retry);
        options_.log(fmt::format(
            "the coordinator issued no certificate for this daemon: {} (asking again in {} s)",
            reply.error, retry_.count()));
        schedule(retry_);
        return;
    }
    const auto& issued = reply.certificate;
    auto mine = pki::key_matches_certificate(pending_key_, issued.certificate_pem);
    auto chained =
        pki::verify_certificate(issued.certificate_pem, issued.ca_pem, std::nullopt, wall_now());
    auto info = pki::inspect_certificate(issued.certificate_pem);
    if (!mine || !*mine || !chained || !info) {
        options_.log(fmt::format(
            "the coordinator sent a certificate that is not for this daemon's key or does not "
            "verify under the CA it sent ({}); not used",
            !chained ? chained.error().message()
            : !info  ? info.error().message()
                     : std::string("another key")));
        schedule(options_.first_retry);
        return;
    }
    held_ = Credentials{std::move(pending_key_), issued.certificate_pem, issued.ca_pem,
                        issued.serial, issued.not_after};
    retry_ = std::chrono::seconds(0);
    const int64_t renew_at = pki::renewal_time(info->not_before, info->not_after);
    options_.log(
        fmt::format("certificate of the cluster CA received (name `{}`, serial {}, valid "
                    "until {}; renewed after {})",
                    info->common_name, issued.serial, pki::utc_text(issued.not_after),
                    pki::utc_text(renew_at)));
    schedule(std::chrono::seconds(std::max<int64_t>(renew_at - wall_now(), 1)));
    if (options_.on_changed) {
        options_.on_changed(*held_);
    }
}

void CertificateKeeper::schedule(std::chrono::seconds delay) {
    timer_ = loop_.add_timer(std::min(delay, kMaxTimer), [this] {
        if (pending_id_ != 0) return;
        if (due()) {
            ask();
        } else if (held_) {
            auto info = pki::inspect_certificate(held_->certificate_pem);
            if (info) {
                const int64_t left =
                    pki::renewal_time(info->not_before, info->not_after) - wall_now();
                schedule(std::chrono::seconds(std::max<int64_t>(left, 1)));
            }
        }
    });
}

}  // namespace dora::daemon
