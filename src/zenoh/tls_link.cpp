#include "zenoh/tls_link.hpp"

#include "zenoh/try.hpp"

namespace dora::zenoh {

Result<std::shared_ptr<const tls::TlsContext>> TlsLinks::context(bool listen) {
    auto& slot = listen ? server_ : client_;
    if (!slot) {
        DORA_ZTRY(config, listen ? listen_tls_config(keys_) : connect_tls_config(keys_));
        DORA_ZTRY(context,
                  listen ? tls::TlsContext::server(config) : tls::TlsContext::client(config));
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

}  // namespace dora::zenoh
