// The daemon's own certificate of the cluster CA (with a cluster token only): after each
// registration it asks the coordinator for one (CertificateRequest: a signing request for a key
// made in memory here, which never leaves the process; the coordinator names it by the machine
// id), keeps it, and asks again with a new key once two thirds of its life have passed (a timer;
// while disconnected, at the next registration). A refusal is logged and asked again later, with
// backoff (30 s doubling to 1 h). The TLS data plane reads the key, certificate and CA through
// credentials(); `on_changed` says when they changed.
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "message/coordinator_to_daemon.hpp"

namespace dora::daemon {

struct Credentials {
    std::string key_pem;          // PKCS#8 PEM, ECDSA P-256
    std::string certificate_pem;  // issued by the cluster CA
    std::string ca_pem;           // the cluster CA's certificate
    std::string serial;
    int64_t not_after = 0;  // Unix seconds
};

struct CertificateKeeperOptions {
    std::string name;  // message::daemon_certificate_name(machine id)
    // Sends a message now when connected; returns false (nothing sent) when not.
    std::function<bool(const nlohmann::json&)> send;
    std::function<void(const std::string&)> log;
    std::function<void(const Credentials&)> on_changed;  // optional
    int days = 0;  // validity asked for; 0: the coordinator's default
    std::chrono::seconds first_retry{30};
    std::chrono::seconds max_retry{3600};
    // Seconds since the Unix epoch, what certificate validity is compared with (tests move it
    // with the loop's ManualClock); null: the system clock.
    std::function<int64_t()> wall_clock;
};

// The IP addresses among Zenoh endpoints ("tcp/10.0.0.2:7447" -> "10.0.0.2"), without unspecified
// ones (0.0.0.0, ::): the names a peer may reach this daemon by.
[[nodiscard]] std::vector<std::string> endpoint_addresses(
    const std::vector<std::string>& endpoints);

class CertificateKeeper {
  public:
    CertificateKeeper(EventLoop& loop, CertificateKeeperOptions options);
    CertificateKeeper(const CertificateKeeper&) = delete;
    CertificateKeeper& operator=(const CertificateKeeper&) = delete;

    // The daemon (re-)registered; `alt_names`: addresses where it can be reached. Asks for a
    // certificate unless the one held is not due for renewal.
    void on_registered(std::vector<std::string> alt_names);
    void handle(const message::CertificateReply& reply);

    [[nodiscard]] const std::optional<Credentials>& credentials() const { return held_; }

  private:
    void ask();
    void schedule(std::chrono::seconds delay);
    [[nodiscard]] bool due() const;
    [[nodiscard]] int64_t wall_now() const;

    EventLoop& loop_;
    CertificateKeeperOptions options_;
    std::vector<std::string> alt_names_;
    std::optional<Credentials> held_;
    std::string pending_key_;  // the key of the request in flight
    uint64_t pending_id_ = 0;  // 0: none in flight
    uint64_t next_id_ = 1;
    std::chrono::seconds retry_{0};
    Timer timer_;  // renewal or retry
};

}  // namespace dora::daemon
