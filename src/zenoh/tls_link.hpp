// The TLS side of one session's links: the contexts made from ZenohConfig::tls (a server context
// for tls/ listeners, a client context for tls/ connects), each made when first needed and kept
// for the session's life, and the transport configuration of a link to an endpoint.
//
// Thread safety: the session's loop thread (like the session).
#pragma once

#include <memory>

#include "core/error.hpp"
#include "tls/context.hpp"
#include "zenoh/config.hpp"
#include "zenoh/transport.hpp"

namespace dora::zenoh {

class TlsLinks {
  public:
    explicit TlsLinks(TlsKeys keys) : keys_(std::move(keys)) {}

    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> server() { return context(true); }
    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> client() { return context(false); }
    // `base` for a link dialled to `endpoint`: with the client context for a tls/ endpoint.
    [[nodiscard]] Result<TransportConfig> connect_config(const TransportConfig& base,
                                                         const Endpoint& endpoint);

  private:
    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> context(bool listen);

    TlsKeys keys_;
    std::shared_ptr<const tls::TlsContext> server_;
    std::shared_ptr<const tls::TlsContext> client_;
};

}  // namespace dora::zenoh
