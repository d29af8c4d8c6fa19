// The TLS side of one session's links: the contexts made from ZenohConfig::tls (a server context
// for tls/ listeners, a client context for tls/ connects), each made when first needed and kept
// until set() replaces the keys (a certificate renewed: links up keep theirs, new links get the
// new ones), and the transport configuration of a link to an endpoint.
//
// A session whose credentials come later (a daemon waits for its certificate of the cluster CA)
// starts with no keys: until set(), tls/ links are neither accepted nor dialled, and the contexts'
// error says why.
//
// Thread safety: the session's loop thread (like the session).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "tls/context.hpp"
#include "zenoh/config.hpp"
#include "zenoh/transport.hpp"

namespace dora::zenoh {

class TlsLinks {
  public:
    explicit TlsLinks(TlsKeys keys) : keys_(std::move(keys)) {}
    // No keys yet: `why` says so in every refusal until set().
    static TlsLinks later(std::string why);

    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> server() { return context(true); }
    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> client() { return context(false); }
    // `base` for a link dialled to `endpoint`: with the client context for a tls/ endpoint.
    [[nodiscard]] Result<TransportConfig> connect_config(const TransportConfig& base,
                                                         const Endpoint& endpoint);
    // New keys: both contexts are made now (a bad key or certificate is an error here, and the
    // old keys stay).
    [[nodiscard]] Result<> set(TlsKeys keys);
    // Whether the keys are still to come (later() and no set() yet).
    [[nodiscard]] bool waiting() const { return waiting_.has_value(); }

  private:
    [[nodiscard]] Result<std::shared_ptr<const tls::TlsContext>> context(bool listen);

    TlsKeys keys_;
    std::optional<std::string> waiting_;  // why there are no keys yet
    std::shared_ptr<const tls::TlsContext> server_;
    std::shared_ptr<const tls::TlsContext> client_;
};

}  // namespace dora::zenoh
