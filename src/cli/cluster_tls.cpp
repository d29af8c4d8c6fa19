#include "cli/cluster_tls.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>

#include "core/net.hpp"
#include "message/auth.hpp"
#include "message/cli_to_coordinator.hpp"
#include "pki/ca.hpp"
#include "pki/certificate.hpp"
#include "pki/keys.hpp"

namespace dora::cli {

namespace {

using namespace std::chrono_literals;

constexpr auto kReplyTimeout = 15s;
constexpr auto kMaxRetry = std::chrono::seconds(3600);

}  // namespace

Result<ClusterCertificate> issue_cluster_certificate(const ClientOptions& client,
                                                     const CertificateAsk& ask) {
    auto key = pki::generate_key();
    if (!key) return fail(key.error());
    auto csr = pki::make_csr(*key, ask.name);
    if (!csr) return fail(csr.error());
    message::CliIssueCertificate request;
    request.name = ask.name;
    request.alt_names = ask.alt_names;
    request.csr_pem = *csr;
    request.days = ask.days;
    auto connection = CoordinatorClient::connect(client);
    if (!connection) return fail(connection.error());
    auto issued = connection->request<message::IssuedCertificate>(request, kReplyTimeout);
    if (!issued) return fail(issued.error());
    auto matches = pki::key_matches_certificate(*key, issued->certificate_pem);
    if (!matches || !*matches) {
        return fail("the coordinator sent a certificate for another key than the one asked for");
    }
    if (auto ok = pki::verify_certificate(issued->certificate_pem, issued->ca_pem, ask.name); !ok) {
        return fail("the certificate the coordinator sent does not verify under the CA it sent: {}",
                    ok.error().message());
    }
    auto info = pki::inspect_certificate(issued->certificate_pem);
    if (!info) return fail(info.error());
    return ClusterCertificate{std::move(*key), issued->certificate_pem, issued->ca_pem,
                              issued->serial,  info->not_before,        info->not_after};
}

zenoh::TlsKeys ClusterCertificate::tls_keys() const {
    return zenoh::cluster_tls_keys(ca_pem, certificate_pem, key_pem);
}

Result<std::optional<ClusterCertificate>> request_cluster_certificate(const ClientOptions& client,
                                                                      const CertificateAsk& ask) {
    auto token = message::load_token(client.token_file.empty()
                                         ? std::nullopt
                                         : std::optional<std::filesystem::path>(client.token_file));
    if (!token) return fail(token.error());
    if (!*token) return std::optional<ClusterCertificate>();
    auto issued = issue_cluster_certificate(client, ask);
    if (!issued) {
        return fail(issued.error().context(
            fmt::format("asking the coordinator at {} for a certificate of the cluster CA",
                        net::join_host_port(client.addr, client.port))));
    }
    return std::optional<ClusterCertificate>(std::move(*issued));
}

bool wants_cluster_certificate(const zenoh::ZenohConfig& config) {
    if (config.tls != zenoh::TlsKeys{}) {
        return false;  // the user's own CA and certificates
    }
    for (const auto* list : {&config.listen, &config.connect}) {
        for (const auto& endpoint : *list) {
            if (endpoint.protocol == "tls") return true;
        }
    }
    return false;
}

void use_cluster_certificate(zenoh::ZenohConfig& config, const ClientOptions& client,
                             std::string_view tool) {
    if (!wants_cluster_certificate(config)) {
        return;
    }
    auto held = request_cluster_certificate(client, {"dora-cli", {}, 1});
    if (!held) {
        throw Exception(Error::make(
            "{}: the cluster's Zenoh links are TLS under its CA, and {}; check the coordinator "
            "address and the token (--coordinator-addr, --token-file or DORA_TOKEN), or give "
            "transport.link.tls keys of your own in ZENOH_CONFIG",
            tool, held.error().message()));
    }
    if (*held) {
        config.tls = (*held)->tls_keys();
        config.tls_only = true;
    }
}

std::vector<std::string> interface_addresses() {
    std::vector<std::string> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
        char text[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
            ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        } else {
            continue;
        }
        if (*text != 0 && std::find(out.begin(), out.end(), text) == out.end()) {
            out.emplace_back(text);
        }
    }
    ::freeifaddrs(list);
    return out;
}

CertificateRenewal::CertificateRenewal(EventLoop& loop, ClientOptions client, CertificateAsk ask,
                                       const ClusterCertificate& held,
                                       std::function<void(const ClusterCertificate&)> use,
                                       std::function<void(const std::string&)> log)
    : loop_(loop),
      client_(std::move(client)),
      ask_(std::move(ask)),
      use_(std::move(use)),
      log_(std::move(log)) {
    schedule(held.not_before, held.not_after);
}

CertificateRenewal::~CertificateRenewal() {
    alive_->store(false);
    timer_ = Timer();
    if (worker_.joinable()) {
        worker_.join();
    }
}

void CertificateRenewal::schedule(int64_t not_before, int64_t not_after) {
    const int64_t wait =
        std::max<int64_t>(pki::renewal_time(not_before, not_after) - pki::unix_now(), 0);
    timer_ = loop_.add_timer(std::chrono::seconds(wait), [this] { ask_now(); });
}

void CertificateRenewal::retry_later() {
    timer_ = loop_.add_timer(retry_, [this] { ask_now(); });
    retry_ = std::min(retry_ * 2, kMaxRetry);
}

void CertificateRenewal::ask_now() {
    if (worker_.joinable()) {
        worker_.join();  // the previous attempt has posted its outcome already
    }
    worker_ = std::thread([this, alive = alive_, client = client_, ask = ask_] {
        auto issued = request_cluster_certificate(client, ask);
        if (!alive->load()) return;
        loop_.post([this, alive, issued = std::move(issued)] {
            if (!alive->load()) return;
            if (!issued || !*issued) {
                log_(
                    fmt::format("renewing the certificate of the cluster CA failed: {}; trying "
                                "again in {} s",
                                issued ? "no cluster token any more" : issued.error().message(),
                                retry_.count()));
                retry_later();
                return;
            }
            retry_ = std::chrono::seconds(60);
            use_(**issued);
            schedule((*issued)->not_before, (*issued)->not_after);
        });
    });
}

}  // namespace dora::cli
