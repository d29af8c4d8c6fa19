#include "zenoh/tls_link.hpp"

#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

Result<std::shared_ptr<const tls::TlsContext>> make_context(const TlsKeys& keys, bool listen) {
    DORA_ZTRY(config, listen ? listen_tls_config(keys) : connect_tls_config(keys));
    DORA_ZTRY(context, listen ? tls::TlsContext::server(config) : tls::TlsContext::client(config));
    return std::shared_ptr<const tls::TlsContext>(std::move(context));
}

}  // namespace

TlsLinks TlsLinks::later(std::string why) {
    TlsLinks links{TlsKeys{}};
    links.waiting_ = std::move(why);
    return links;
}

Result<std::shared_ptr<const tls::TlsContext>> TlsLinks::context(bool listen) {
    if (waiting_) {
        return fail("{}", *waiting_);
    }
    auto& slot = listen ? server_ : client_;
    if (!slot) {
        DORA_ZTRY(context, make_context(keys_, listen));
        slot = context;
    }
    return slot;
}

Result<TransportConfig> TlsLinks::connect_config(const TransportConfig& base,
                                                 const Endpoint& endpoint) {
    TransportConfig config = base;
    if (endpoint.protocol == "tls") {
        DORA_ZTRY(context, client());
        config.tls = context;
    }
    return config;
}

Result<> TlsLinks::set(TlsKeys keys) {
    std::shared_ptr<const tls::TlsContext> server;
    if (!keys.listen_certificate.empty() || !keys.listen_private_key.empty()) {
        DORA_ZTRY(made, make_context(keys, true));
        server = made;
    }
    DORA_ZTRY(client, make_context(keys, false));
    keys_ = std::move(keys);
    server_ = std::move(server);
    client_ = std::move(client);
    waiting_.reset();
    return {};
}

}  // namespace dora::zenoh
