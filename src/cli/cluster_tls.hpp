// The CLI's side of the cluster CA on Zenoh links (issue 11). With a cluster token the daemons
// listen on tls/ with mutual TLS under the coordinator's CA, so the CLI's Zenoh tools (`dora
// zenoh ...`, `dora topic`, `dora record`) and `dora router` present a certificate of that CA.
// They ask for one when they need it: a key made in memory here (never written anywhere), its
// signing request sent over the authenticated control connection, and the certificate checked
// against the key, the name asked for and the CA before it is used.
//
// Thread safety: free functions that block on one request to the coordinator; a
// CertificateRenewal runs that request on its own thread and hands the result to the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/coordinator_client.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "zenoh/config.hpp"

namespace dora::cli {

struct ClusterCertificate {
    std::string key_pem;
    std::string certificate_pem;
    std::string ca_pem;
    std::string serial;
    int64_t not_before = 0;  // Unix seconds
    int64_t not_after = 0;
    [[nodiscard]] zenoh::TlsKeys tls_keys() const;
};

struct CertificateAsk {
    std::string name;
    std::vector<std::string> alt_names;
    int days = 0;  // 0: the coordinator's default
};

// A certificate of the cluster CA for `ask` (the coordinator must have a token; `dora cert issue`
// writes it out), checked against the key, the name and the CA before it is returned.
[[nodiscard]] Result<ClusterCertificate> issue_cluster_certificate(const ClientOptions& client,
                                                                   const CertificateAsk& ask);

// A certificate of the cluster CA for `ask`, or nullopt when no cluster token is set for
// `client` (the loopback-only mode, where Zenoh links stay plain TCP).
[[nodiscard]] Result<std::optional<ClusterCertificate>> request_cluster_certificate(
    const ClientOptions& client, const CertificateAsk& ask);

// Whether `config` would use the cluster's certificate: it gives no transport.link.tls keys of
// its own and has a tls/ endpoint to listen on or connect to.
[[nodiscard]] bool wants_cluster_certificate(const zenoh::ZenohConfig& config);

// For a Zenoh tool of the CLI (`tool` names it in errors): when wants_cluster_certificate() and a
// cluster token is set, `config` gets a client certificate of the cluster ("dora-cli"). Throws
// (this is the CLI edge) when the coordinator cannot be asked, saying what to do.
void use_cluster_certificate(zenoh::ZenohConfig& config, const ClientOptions& client,
                             std::string_view tool);

// The IP addresses of this machine's interfaces that are up (IPv4 and IPv6, without link-local
// ones): the names a listener on an unspecified address can be reached by.
[[nodiscard]] std::vector<std::string> interface_addresses();

// Keeps a long-running process's certificate fresh: once two thirds of its life have passed it
// asks again (on a thread of its own, so the loop never waits for the coordinator), and hands the
// new one to `use` on the loop's thread; a failed attempt is logged and tried again after a
// minute, doubling up to an hour.
class CertificateRenewal {
  public:
    CertificateRenewal(EventLoop& loop, ClientOptions client, CertificateAsk ask,
                       const ClusterCertificate& held,
                       std::function<void(const ClusterCertificate&)> use,
                       std::function<void(const std::string&)> log);
    ~CertificateRenewal();
    CertificateRenewal(const CertificateRenewal&) = delete;
    CertificateRenewal& operator=(const CertificateRenewal&) = delete;

  private:
    void schedule(int64_t not_before, int64_t not_after);
    void retry_later();
    void ask_now();

    EventLoop& loop_;
    ClientOptions client_;
    CertificateAsk ask_;
    std::function<void(const ClusterCertificate&)> use_;
    std::function<void(const std::string&)> log_;
    std::chrono::seconds retry_{60};
    Timer timer_;
    std::thread worker_;
    std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace dora::cli
