// TLS for the control plane (the coordinator's ports for daemons and CLIs) when a cluster token is
// set: after its plain hello challenge the coordinator is a TLS 1.3 server with a certificate from
// its cluster CA, and every client a TLS 1.3 client. The client does not check that certificate
// (a new daemon or CLI holds only the token, not the CA yet); the hello that follows does: both
// sides prove the token over the session's exported key (message/auth.hpp, HelloNonces::binding),
// so a party without the token fails there, also one that relays between two TLS sessions.
//
// Thread safety: contexts are immutable and shared; a stream is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "message/secure_stream.hpp"
#include "tls/context.hpp"

namespace dora::tls {

// The exporter label of the hello's channel binding.
inline constexpr std::string_view kControlBindingLabel = "EXPORTER-dora-control-hello";

// The coordinator's: its certificate (leaf first) and key, PEM text.
[[nodiscard]] Result<std::shared_ptr<const TlsContext>> control_server_context(
    std::string certificate_pem, std::string key_pem);
// A daemon's or CLI's.
[[nodiscard]] Result<std::shared_ptr<const TlsContext>> control_client_context();

// A SecureStream over a connected socket (not owned); `peer` names the other side in errors.
[[nodiscard]] Result<std::unique_ptr<message::SecureStream>> control_server_stream(
    std::shared_ptr<const TlsContext> context, int fd, std::string peer);
[[nodiscard]] Result<std::unique_ptr<message::SecureStream>> control_client_stream(
    std::shared_ptr<const TlsContext> context, int fd, std::string_view host, std::string peer);

}  // namespace dora::tls
