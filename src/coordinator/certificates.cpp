// The coordinator's cluster CA: opened (created or loaded) at start when there is a cluster token,
// and the certificates it issues to CLIs (`dora cert issue`, `dora cert ca`) and to registered
// daemons (CertificateRequest, named by the daemon's machine id).
#include "coordinator/coordinator.hpp"
#include "pki/ca_store.hpp"
#include "pki/certificate.hpp"
#include "pki/keys.hpp"
#include "tls/control_tls.hpp"

namespace dora::coordinator {

Result<> Coordinator::open_ca() {
    if (!options_.token || options_.state_dir.empty()) {
        return {};
    }
    auto stored =
        pki::open_ca(options_.state_dir, pki::CaOptions{"dora cluster CA", options_.ca_days});
    if (!stored) {
        return fail("cannot set up the cluster CA: {}", stored.error().message());
    }
    log(fmt::format("cluster CA {} {} (valid until {})",
                    stored->created ? "created in" : "loaded from", stored->cert_path.string(),
                    pki::utc_text(stored->ca.not_after())));
    ca_ = std::make_unique<pki::CertificateAuthority>(std::move(stored->ca));
    return {};
}

Result<> Coordinator::open_control_tls() {
    if (!options_.token) {
        return {};
    }
    std::optional<pki::CertificateAuthority> in_memory;
    const pki::CertificateAuthority* ca = ca_.get();
    if (ca == nullptr) {
        auto made =
            pki::CertificateAuthority::create(pki::CaOptions{"dora coordinator (in memory)", 3650});
        if (!made) {
            return fail("cannot make the control ports' TLS certificate: {}",
                        made.error().message());
        }
        in_memory.emplace(std::move(*made));
        ca = &*in_memory;
    }
    auto key = pki::generate_key();
    if (!key) return fail(key.error());
    auto csr = pki::make_csr(*key, "dora-coordinator");
    if (!csr) return fail(csr.error());
    auto issued = ca->issue({*csr, "dora-coordinator", {}, pki::kDefaultCertificateDays});
    if (!issued) {
        return fail("cannot make the control ports' TLS certificate: {}", issued.error().message());
    }
    auto context = tls::control_server_context(issued->certificate_pem + ca->certificate_pem(),
                                               std::move(*key));
    if (!context) {
        return fail("cannot set up TLS for the control ports: {}", context.error().message());
    }
    control_tls_ = std::move(*context);
    return {};
}

std::string Coordinator::no_ca_reason() const {
    return options_.token
               ? "this coordinator keeps no cluster CA (it was started without a state "
                 "directory), so it issues no certificates"
               : "certificates need a cluster token: this coordinator runs without one (only "
                 "this machine may connect, over plain TCP); start it with a token "
                 "(--token-file, DORA_TOKEN or ~/.config/dora/token) and it creates a cluster CA";
}

Result<message::IssuedCertificate> Coordinator::issue_certificate(const pki::IssueRequest& request,
                                                                  const std::string& who) {
    if (!ca_) {
        return fail("{}", no_ca_reason());
    }
    auto issued = ca_->issue(request);
    if (!issued) {
        log(fmt::format("refused a certificate for {}: {}", who, issued.error().message()));
        return fail(issued.error());
    }
    log(fmt::format("issued a certificate for `{}` to {}: serial {}, valid until {}", request.name,
                    who, issued->serial, pki::utc_text(issued->not_after)));
    return message::IssuedCertificate{std::move(issued->certificate_pem), ca_->certificate_pem(),
                                      std::move(issued->serial), issued->not_after};
}

Result<WebViewTls> Coordinator::web_view_certificate() {
    auto key = pki::generate_key();
    if (!key) return fail(key.error());
    auto csr = pki::make_csr(*key, "dora-web-view");
    if (!csr) return fail(csr.error());
    auto issued = issue_certificate({*csr, "dora-web-view", {}, pki::kDefaultCertificateDays},
                                    "the web view");
    if (!issued) return fail(issued.error());
    auto info = pki::inspect_certificate(issued->certificate_pem);
    if (!info) return fail(info.error());
    return WebViewTls{zenoh::cluster_tls_keys(issued->ca_pem, issued->certificate_pem, *key),
                      pki::renewal_time(info->not_before, info->not_after)};
}

void Coordinator::handle(Peer& cli, const message::CliIssueCertificate& m) {
    pki::IssueRequest request{m.csr_pem, m.name, m.alt_names,
                              m.days == 0 ? options_.certificate_days : m.days};
    auto issued = issue_certificate(request, fmt::format("the CLI at {}", cli.address));
    cli.channel->send(issued ? message::make(*issued)
                             : message::make(message::ErrorMessage{issued.error().message()}));
}

void Coordinator::handle(Peer& cli, const message::CliCaCertificate&) {
    if (!ca_) {
        cli.channel->send(message::make(message::ErrorMessage{no_ca_reason()}));
        return;
    }
    cli.channel->send(
        message::make(message::CaCertificate{ca_->certificate_pem(), ca_->not_after()}));
}

void Coordinator::handle(const std::string& machine, const message::CertificateRequest& m) {
    pki::IssueRequest request{m.csr_pem, message::daemon_certificate_name(machine), m.alt_names,
                              m.days == 0 ? options_.certificate_days : m.days};
    auto issued = issue_certificate(
        request, machine.empty() ? machine_name(machine) : "the daemon " + machine_name(machine));
    message::CertificateReply reply;
    reply.request_id = m.request_id;
    if (issued) {
        reply.certificate = std::move(*issued);
    } else {
        reply.error = issued.error().message();
    }
    send_to_daemon(machine, message::make(reply));
}

}  // namespace dora::coordinator
