#include "zenoh/tls_config.hpp"

#include <array>
#include <optional>

namespace dora::zenoh {

namespace {

struct PemKey {
    std::string_view name;
    TlsPemSetting TlsKeys::*member;
};

constexpr std::array<PemKey, 5> kPemKeys = {{
    {"root_ca_certificate", &TlsKeys::root_ca_certificate},
    {"listen_certificate", &TlsKeys::listen_certificate},
    {"listen_private_key", &TlsKeys::listen_private_key},
    {"connect_certificate", &TlsKeys::connect_certificate},
    {"connect_private_key", &TlsKeys::connect_private_key},
}};

std::string full(std::string_view key) { return fmt::format("{}.{}", kTlsSection, key); }

tl::unexpected<Error> wrong(std::string_view origin, const Json5Value& v, std::string_view key,
                            std::string_view expected) {
    return fail("{}:{}:{}: '{}' must be {}, not {}", origin, v.line, v.column, full(key), expected,
                v.type_name());
}

std::optional<PemKey> pem_key(std::string_view key) {
    for (const auto& k : kPemKeys) {
        if (key == k.name ||
            (key.ends_with("_base64") && key.substr(0, key.size() - 7) == k.name)) {
            return k;
        }
    }
    return std::nullopt;
}

Result<> read_pem(std::string_view origin, std::string_view key, const Json5Value& v,
                  const PemKey& which, TlsKeys& out) {
    if (v.is_null()) {
        return {};
    }
    const std::string* s = v.as_string();
    if (s == nullptr) {
        return wrong(origin, v, key, key.ends_with("_base64") ? "a base64 string" : "a file path");
    }
    TlsPemSetting& setting = out.*which.member;
    if (!setting.empty()) {
        return fail("{}:{}:{}: only one of '{}' and '{}_base64' may be set", origin, v.line,
                    v.column, full(which.name), full(which.name));
    }
    if (!key.ends_with("_base64")) {
        setting.path = *s;
        return {};
    }
    auto pem = tls::pem_from_base64(full(key), *s);
    if (!pem) {
        return fail("{}:{}:{}: {}", origin, v.line, v.column, pem.error().message());
    }
    setting.pem = std::move(pem->text);
    return {};
}

Result<> read_bool(std::string_view origin, std::string_view key, const Json5Value& v, bool& out) {
    if (v.is_null()) {
        return {};
    }
    if (v.as_bool() == nullptr) {
        return wrong(origin, v, key, "true or false");
    }
    out = *v.as_bool();
    return {};
}

Result<> refuse(std::string_view origin, std::string_view key, const Json5Value& v) {
    if (key == "so_sndbuf" || key == "so_rcvbuf") {
        return fail(
            "{}:{}:{}: '{}' is not supported by dora-cpp: every Zenoh link gets 4 MiB socket "
            "buffers; remove the key",
            origin, v.line, v.column, full(key));
    }
    return fail(
        "{}:{}:{}: unknown key '{}': dora-cpp reads root_ca_certificate, listen_certificate, "
        "listen_private_key, connect_certificate, connect_private_key (each also as *_base64), "
        "enable_mtls, verify_name_on_connect and close_link_on_expiration",
        origin, v.line, v.column, full(key));
}

tls::Wording zenoh_wording() {
    tls::Wording w;
    w.root_ca = full("root_ca_certificate");
    w.listen_certificate = full("listen_certificate");
    w.listen_private_key = full("listen_private_key");
    w.connect_certificate = full("connect_certificate");
    w.connect_private_key = full("connect_private_key");
    w.mutual = full("enable_mtls");
    w.verify_name = full("verify_name_on_connect");
    w.tls_port = "a tls/ locator";
    w.use_tls = "use tls/ on its side";
    w.use_plain = "use tcp/ or give it a TLS listener";
    return w;
}

// The words of the cluster's own TLS (a cluster token), set up by dora, not by ZENOH_CONFIG.
tls::Wording cluster_wording() {
    tls::Wording w;
    w.root_ca = "cluster CA (the coordinator's)";
    w.listen_certificate = "this process's certificate of the cluster CA";
    w.listen_private_key = "its private key";
    w.connect_certificate =
        "a certificate of the cluster CA (daemons, dora router and the CLI's Zenoh tools get one "
        "with the cluster token; zenohd or zenoh-pico: `dora cert issue NAME`)";
    w.connect_private_key = "its private key";
    w.mutual = "mutual TLS";
    w.verify_name = "name verification";
    w.tls_port = "a tls/ locator";
    w.use_tls = "use tls/ on its side with a certificate of the cluster CA";
    w.use_plain = "use tcp/ or give it a TLS listener";
    return w;
}

Result<std::optional<tls::Pem>> load(const TlsPemSetting& setting, std::string_view key,
                                     bool cluster) {
    if (!setting.pem.empty()) {
        return tls::pem_from_string(
            cluster ? "the cluster's " + std::string(key) : full(key) + "_base64", setting.pem);
    }
    if (setting.path.empty()) {
        return std::nullopt;
    }
    auto pem = tls::pem_from_file(full(key), setting.path);
    if (!pem) {
        return fail(pem.error());
    }
    return *pem;
}

// The files (or texts) of `keys` for one role: the CA, and the certificate and key named.
Result<tls::TlsConfig> load_config(const TlsKeys& keys, const TlsPemSetting& certificate,
                                   std::string_view certificate_key, const TlsPemSetting& key,
                                   std::string_view key_key) {
    tls::TlsConfig config;
    config.wording = zenoh_wording();
    auto ca = load(keys.root_ca_certificate, "root_ca_certificate", keys.cluster_ca);
    auto cert = load(certificate, certificate_key, keys.cluster_ca);
    auto pkey = load(key, key_key, keys.cluster_ca);
    for (const auto* r : {&ca, &cert, &pkey}) {
        if (!*r) {
            return fail(r->error());
        }
    }
    config.root_ca = std::move(*ca);
    config.certificate = std::move(*cert);
    config.private_key = std::move(*pkey);
    // Zenoh speaks TLS 1.3 only with mTLS; the cluster's own links take 1.2 too (ECDHE and AEAD
    // only), so that zenoh-pico on Debian 12's mbedtls 2.28, which has no TLS 1.3, can join.
    config.tls13_only = keys.enable_mtls && !keys.cluster_ca;
    if (keys.cluster_ca) {
        config.system_roots = false;
        config.wording = cluster_wording();
    }
    return config;
}

}  // namespace

Result<> read_tls_keys(const Json5Value& v, std::string_view origin, TlsKeys& out) {
    if (v.as_object() == nullptr) {
        return fail("{}:{}:{}: '{}' must be an object, not {}", origin, v.line, v.column,
                    kTlsSection, v.type_name());
    }
    for (const auto& [key, value] : *v.as_object()) {
        Result<> read;
        if (auto pem = pem_key(key)) {
            read = read_pem(origin, key, value, *pem, out);
        } else if (key == "enable_mtls") {
            read = read_bool(origin, key, value, out.enable_mtls);
        } else if (key == "verify_name_on_connect") {
            read = read_bool(origin, key, value, out.verify_name_on_connect);
        } else if (key == "close_link_on_expiration") {
            read = value.is_null() ? Result<>()
                                   : read_bool(origin, key, value, out.close_link_on_expiration);
        } else {
            read = refuse(origin, key, value);
        }
        if (!read) {
            return read;
        }
    }
    return {};
}

TlsKeys cluster_tls_keys(std::string ca_pem, std::string certificate_pem, std::string key_pem) {
    TlsKeys keys;
    keys.root_ca_certificate.pem = std::move(ca_pem);
    keys.listen_certificate.pem = certificate_pem;
    keys.listen_private_key.pem = key_pem;
    keys.connect_certificate.pem = std::move(certificate_pem);
    keys.connect_private_key.pem = std::move(key_pem);
    keys.enable_mtls = true;
    keys.verify_name_on_connect = true;
    keys.cluster_ca = true;
    return keys;
}

Result<tls::TlsConfig> listen_tls_config(const TlsKeys& keys) {
    auto config = load_config(keys, keys.listen_certificate, "listen_certificate",
                              keys.listen_private_key, "listen_private_key");
    if (config) {
        config->require_client_certificate = keys.enable_mtls;
    }
    return config;
}

Result<tls::TlsConfig> connect_tls_config(const TlsKeys& keys) {
    // As in Zenoh, a client presents a certificate only with mTLS on.
    static const TlsPemSetting kNone;
    bool mtls = keys.enable_mtls;
    auto config = load_config(keys, mtls ? keys.connect_certificate : kNone, "connect_certificate",
                              mtls ? keys.connect_private_key : kNone, "connect_private_key");
    if (!config) {
        return config;
    }
    if (mtls && (!config->certificate || !config->private_key)) {
        return fail("{} is on: a tls/ connect presents a client certificate, so set {} and {}",
                    full("enable_mtls"), full("connect_certificate"), full("connect_private_key"));
    }
    config->verify_name = keys.verify_name_on_connect;
    return config;
}

}  // namespace dora::zenoh
