#include "zenoh/config.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "zenoh/json5.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

std::string_view to_string(Mode m) {
    switch (m) {
        case Mode::kRouter:
            return "router";
        case Mode::kPeer:
            return "peer";
        case Mode::kClient:
            return "client";
    }
    return "unknown";
}

namespace {

bool valid_hostname(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// An IPv6 address, optionally with a zone ("%eth0").
bool valid_ipv6(std::string_view host) {
    size_t zone = host.find('%');
    if (zone != std::string_view::npos) {
        if (!valid_hostname(host.substr(zone + 1))) {
            return false;
        }
        host = host.substr(0, zone);
    }
    if (host.empty()) {
        return false;
    }
    for (char c : host) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return host.find(':') != std::string_view::npos;
}

}  // namespace

std::string Endpoint::to_string() const {
    std::string out = ipv6 ? fmt::format("{}/[{}]:{}", protocol, host, port)
                           : fmt::format("{}/{}:{}", protocol, host, port);
    if (!metadata.empty()) {
        out += "?" + metadata;
    }
    if (!iface.empty()) {
        out += "#iface=" + iface;
    }
    return out;
}

Result<Endpoint> parse_endpoint(std::string_view text) {
    Endpoint ep;
    size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        return fail("endpoint '{}': expected <protocol>/<address>, e.g. tcp/127.0.0.1:7447", text);
    }
    ep.protocol = std::string(text.substr(0, slash));
    if (ep.protocol != "tcp" && ep.protocol != "tls" && ep.protocol != "udp") {
        return fail("endpoint '{}': unsupported protocol '{}' (tcp, tls or udp)", text,
                    ep.protocol);
    }
    std::string_view rest = text.substr(slash + 1);
    if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
        std::string_view config = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
        while (!config.empty()) {
            size_t semi = config.find(';');
            std::string_view item = config.substr(0, semi);
            config = semi == std::string_view::npos ? std::string_view{} : config.substr(semi + 1);
            if (item.starts_with("iface=")) {
                ep.iface = std::string(item.substr(6));
            } else if (!item.empty()) {
                return fail("endpoint '{}': unknown option '{}' (only iface=...)", text, item);
            }
        }
    }
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
        ep.metadata = std::string(rest.substr(q + 1));
        rest = rest.substr(0, q);
    }
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
        return fail("endpoint '{}': missing ':<port>'", text);
    }
    std::string_view host = rest.substr(0, colon);
    std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
        return fail("endpoint '{}': port '{}' is not a number from 0 to 65535", text, port);
    }
    ep.port = static_cast<uint16_t>(value);
    if (host.starts_with('[')) {
        if (!host.ends_with(']') || !valid_ipv6(host.substr(1, host.size() - 2))) {
            return fail("endpoint '{}': malformed IPv6 address '{}'", text, host);
        }
        ep.ipv6 = true;
        ep.host = std::string(host.substr(1, host.size() - 2));
    } else if (valid_hostname(host)) {
        ep.host = std::string(host);
    } else {
        return fail("endpoint '{}': malformed host '{}' (IPv6 needs [brackets])", text, host);
    }
    return ep;
}

namespace {

class ConfigReader {
  public:
    ConfigReader(std::string_view origin, ZenohConfig& out) : origin_(origin), out_(out) {}

    Result<> root(const Json5Value& v) {
        if (v.as_object() == nullptr) {
            return wrong(v, "", "an object");
        }
        if (const auto* mode = v.find("mode")) {
            DORA_ZCHECK(read_mode(*mode));
        }
        for (const auto& [key, value] : *v.as_object()) {
            if (key == "mode") {
                continue;
            }
            if (key == "connect" || key == "listen") {
                DORA_ZCHECK(endpoints_section(value, key));
            } else if (key == "scouting") {
                DORA_ZCHECK(scouting(value));
            } else if (key == "transport") {
                DORA_ZCHECK(transport(value));
            } else if (key == "dora") {
                DORA_ZCHECK(dora_section(value));
            } else {
                out_.unknown_keys.push_back(key);
            }
        }
        return {};
    }

  private:
    tl::unexpected<Error> unknown(const Json5Value& v, std::string_view path,
                                  std::string_view known) const {
        return fail("{}:{}:{}: unknown key '{}' ({})", origin_, v.line, v.column, path, known);
    }
    tl::unexpected<Error> wrong(const Json5Value& v, std::string_view path,
                                std::string_view expected) const {
        return fail("{}:{}:{}: '{}' must be {}, not {}", origin_, v.line, v.column, path, expected,
                    v.type_name());
    }

    Result<> read_mode(const Json5Value& v) {
        const auto* s = v.as_string();
        if (s != nullptr && *s == "peer") {
            out_.mode = Mode::kPeer;
        } else if (s != nullptr && *s == "client") {
            out_.mode = Mode::kClient;
        } else if (s != nullptr && *s == "router") {
            out_.mode = Mode::kRouter;
        } else {
            return wrong(v, "mode", "\"peer\", \"client\" or \"router\"");
        }
        return {};
    }

    Result<> endpoints_section(const Json5Value& v, const std::string& section) {
        if (v.as_object() == nullptr) {
            return wrong(v, section, "an object");
        }
        auto& target = section == "connect" ? out_.connect : out_.listen;
        for (const auto& [key, value] : *v.as_object()) {
            std::string path = section + "." + key;
            if (key != "endpoints") {
                out_.unknown_keys.push_back(path);
                continue;
            }
            // Either a list, or a list per mode: {router: [...], peer: [...], client: [...]}.
            const Json5Value* list = &value;
            if (value.as_object() != nullptr) {
                list = value.find(to_string(out_.mode));
                if (list == nullptr) {
                    continue;
                }
                path = fmt::format("{}.{}", path, to_string(out_.mode));
            }
            DORA_ZCHECK(endpoint_list(*list, path, target));
        }
        return {};
    }

    Result<> endpoint_list(const Json5Value& v, const std::string& path,
                           std::vector<Endpoint>& target) {
        const auto* arr = v.as_array();
        if (arr == nullptr) {
            return wrong(v, path, "a list of endpoint strings");
        }
        for (const auto& item : *arr) {
            const auto* s = item.as_string();
            if (s == nullptr) {
                return wrong(item, path, "a list of endpoint strings");
            }
            auto ep = parse_endpoint(*s);
            if (!ep) {
                return fail("{}:{}:{}: {}", origin_, item.line, item.column, ep.error().message());
            }
            target.push_back(std::move(*ep));
        }
        return {};
    }

    Result<> scouting(const Json5Value& v) {
        if (v.as_object() == nullptr) {
            return wrong(v, "scouting", "an object");
        }
        for (const auto& [key, value] : *v.as_object()) {
            if (key != "multicast") {
                out_.unknown_keys.push_back("scouting." + key);
                continue;
            }
            if (value.as_object() == nullptr) {
                return wrong(value, "scouting.multicast", "an object");
            }
            for (const auto& [mkey, mvalue] : *value.as_object()) {
                std::string path = "scouting.multicast." + mkey;
                if (mkey == "enabled") {
                    if (mvalue.as_bool() == nullptr) {
                        return wrong(mvalue, path, "true or false");
                    }
                    out_.multicast.enabled = *mvalue.as_bool();
                } else if (mkey == "address" || mkey == "interface") {
                    if (mvalue.as_string() == nullptr) {
                        return wrong(mvalue, path, "a string");
                    }
                    (mkey == "address" ? out_.multicast.address : out_.multicast.interface) =
                        *mvalue.as_string();
                } else {
                    out_.unknown_keys.push_back(path);
                }
            }
        }
        return {};
    }

    Result<uint64_t> unsigned_value(const Json5Value& v, const std::string& path, uint64_t max) {
        const auto* n = v.as_number();
        if (n == nullptr || !n->is_integer || n->integer < 0 ||
            static_cast<uint64_t>(n->integer) > max) {
            return wrong(v, path, fmt::format("an integer from 0 to {}", max));
        }
        return static_cast<uint64_t>(n->integer);
    }

    Result<> transport(const Json5Value& v) {
        if (v.as_object() == nullptr) {
            return wrong(v, "transport", "an object");
        }
        for (const auto& [key, value] : *v.as_object()) {
            if (key == "unicast") {
                DORA_ZCHECK(each_key(value, "transport.unicast", &ConfigReader::unicast));
                continue;
            }
            if (key != "link" || value.as_object() == nullptr) {
                out_.unknown_keys.push_back("transport." + key);
                continue;
            }
            for (const auto& [lkey, lvalue] : *value.as_object()) {
                if (lkey == "tx") {
                    DORA_ZCHECK(each_key(lvalue, "transport.link.tx", &ConfigReader::link_tx));
                } else if (lkey == "rx") {
                    DORA_ZCHECK(each_key(lvalue, "transport.link.rx", &ConfigReader::link_rx));
                } else if (lkey == "tls") {
                    DORA_ZCHECK(read_tls_keys(lvalue, origin_, out_.tls));
                } else {
                    out_.unknown_keys.push_back("transport.link." + lkey);
                }
            }
        }
        return {};
    }

    using KeyReader = Result<> (ConfigReader::*)(const std::string& key, const Json5Value& value,
                                                 const std::string& path);
    // Calls `read(key, value, "<path>.<key>")` for each key of the object `v` at `path`.
    Result<> each_key(const Json5Value& v, const std::string& path, KeyReader read) {
        if (v.as_object() == nullptr) {
            return wrong(v, path, "an object");
        }
        for (const auto& [key, value] : *v.as_object()) {
            DORA_ZCHECK((this->*read)(key, value, path + "." + key));
        }
        return {};
    }

    Result<> link_tx(const std::string& key, const Json5Value& value, const std::string& path) {
        if (key == "batch_size") {
            DORA_ZTRY(b, unsigned_value(value, path, 65535));
            if (b < 64) {
                return wrong(value, path, "at least 64");
            }
            out_.batch_size = static_cast<uint16_t>(b);
        } else if (key == "lease") {
            DORA_ZTRY(lease, unsigned_value(value, path, UINT32_MAX));
            if (lease == 0) {
                return wrong(value, path, "a positive number of milliseconds");
            }
            out_.lease_ms = lease;
        } else if (key == "keep_alive") {
            DORA_ZTRY(ka, unsigned_value(value, path, 1000));
            out_.keep_alive = ka == 0 ? 1 : ka;
        } else {
            out_.unknown_keys.push_back(path);
        }
        return {};
    }

    Result<> link_rx(const std::string& key, const Json5Value& value, const std::string& path) {
        if (key == "max_message_size") {
            // At least one batch: smaller would refuse messages that need no fragments.
            DORA_ZTRY(size, unsigned_value(value, path, INT64_MAX));
            if (size < 65536) {
                return wrong(value, path, "at least 65536 (bytes)");
            }
            out_.max_message_size = size;
        } else {
            out_.unknown_keys.push_back(path);
        }
        return {};
    }

    // A positive integer up to `max`, stored in `target`.
    Result<> positive(const Json5Value& v, const std::string& path, uint64_t max,
                      uint64_t& target) {
        DORA_ZTRY(n, unsigned_value(v, path, max));
        if (n == 0) {
            return wrong(v, path, fmt::format("an integer from 1 to {}", max));
        }
        target = n;
        return {};
    }

    Result<> unicast(const std::string& key, const Json5Value& value, const std::string& path) {
        if (key == "accept_timeout") {
            return positive(value, path, 3600000, out_.accept_timeout_ms);
        }
        if (key == "accept_pending") {
            return positive(value, path, 1000000, out_.accept_pending);
        }
        if (key == "max_sessions") {
            return positive(value, path, 1000000, out_.max_sessions);
        }
        out_.unknown_keys.push_back(path);
        return {};
    }

    Result<> dora_section(const Json5Value& v) {
        if (v.as_object() == nullptr) {
            return wrong(v, "dora", "an object");
        }
        for (const auto& [key, value] : *v.as_object()) {
            if (key == "limits") {
                DORA_ZCHECK(each_key(value, "dora.limits", &ConfigReader::limits));
            } else {
                // Our own section: a key we do not know is a mistake, not zenohd's.
                return unknown(value, "dora." + key, "dora has only dora.limits");
            }
        }
        return {};
    }

    Result<> limits(const std::string& key, const Json5Value& value, const std::string& path) {
        if (key == "accept_pending_per_address") {
            return positive(value, path, 1000000, out_.limits.pending_per_address);
        }
        if (key == "declarations_per_link") {
            return positive(value, path, 100000000, out_.limits.declarations);
        }
        if (key == "key_expr_length") {
            DORA_ZCHECK(positive(value, path, 1u << 20, out_.limits.key_expr_length));
            if (out_.limits.key_expr_length < 64) {
                return wrong(value, path, "at least 64 (bytes)");
            }
            return {};
        }
        return unknown(value, path,
                       "dora.limits has accept_pending_per_address, declarations_per_link and "
                       "key_expr_length");
    }

    std::string_view origin_;
    ZenohConfig& out_;
};

}  // namespace

Result<ZenohConfig> parse_config(std::string_view text, std::string_view origin) {
    DORA_ZTRY(tree, parse_json5(text, origin));
    ZenohConfig config;
    ConfigReader reader(origin, config);
    DORA_ZCHECK(reader.root(tree));
    return config;
}

Result<ZenohConfig> load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail("cannot read ZENOH_CONFIG file '{}'", path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path);
}

Result<> check_cluster_endpoints(const ZenohConfig& config, std::string_view who) {
    for (const auto* list : {&config.listen, &config.connect}) {
        for (const auto& endpoint : *list) {
            if (endpoint.protocol == "tls") {
                continue;
            }
            Endpoint instead = endpoint;
            instead.protocol = "tls";
            instead.iface.clear();
            return fail(
                "{} endpoint {}: with a cluster token every Zenoh link of {} is TLS with mutual "
                "authentication under the cluster CA, so a {}/ endpoint is refused (its data would "
                "travel in clear, open to anyone on the network): write {} instead (the daemons "
                "and dora router listen on tls/ with a token too), or give transport.link.tls "
                "keys of your own CA",
                list == &config.listen ? "listen" : "connect", endpoint.to_string(), who,
                endpoint.protocol, instead.to_string());
        }
    }
    return {};
}

}  // namespace dora::zenoh
