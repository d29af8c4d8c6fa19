// Test support: certificate authorities and certificates made at test time with OpenSSL's API
// (EC P-256 keys), so that no key is ever committed. A TestCa signs leaf certificates with
// chosen names and validity (expired ones too). Tests write them into a testing::TempDir.
//
// Thread safety: a TestCa is used by one thread at a time. Failures throw std::runtime_error
// (tests only).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dora::tls::testing {

struct KeyPair {
    std::string certificate;  // PEM
    std::string key;          // PEM (PKCS#8)
};

struct LeafOptions {
    std::string common_name = "dora-test";
    std::vector<std::string> dns_names = {"localhost"};
    std::vector<std::string> ip_addresses = {"127.0.0.1"};
    // Validity relative to now: [now + not_before, now + not_after].
    std::chrono::seconds not_before = std::chrono::hours(-1);
    std::chrono::seconds not_after = std::chrono::hours(24);
};

class TestCa {
  public:
    explicit TestCa(const std::string& name);
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    [[nodiscard]] const std::string& certificate() const { return pem_.certificate; }
    // A leaf certificate signed by this CA.
    [[nodiscard]] KeyPair issue(const LeafOptions& options) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    KeyPair pem_;
};

}  // namespace dora::tls::testing
