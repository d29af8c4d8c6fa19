// A non-blocking TLS stream over a connected socket, for sockets watched by an EventLoop: the
// handshake as a state machine that says what it waits for (readable or writable socket), then
// reads and writes of bytes with the same contract as sys::read_some / sys::send_some, and a
// clean shutdown (close_notify). tls::ByteIo (byte_io.hpp) lets framing code take either a plain
// socket or a TlsStream; tls::Handshake (handshake.hpp) drives the handshake on a loop with a
// deadline.
//
// The socket is not owned (its FdWatch owns it) and must outlive the stream. Writes go through
// send(MSG_NOSIGNAL): a peer that left never raises SIGPIPE.
//
// Errors say what is wrong and what to do, on each side: a certificate not signed by the
// configured root CA, expired or not yet valid, for other names than the host dialled; a peer
// that refused ours (the TLS alert it sent); a client without a certificate on a mutual-TLS
// server; a server that does not speak TLS; a client that speaks plain TCP to a TLS port (the
// server looks at the first bytes before the handshake).
//
// Thread safety: one thread at a time (the loop thread of the socket's watch).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "tls/context.hpp"

namespace dora::tls {

namespace detail {
// The socket under a stream's BIO, the errno of its last failed call, and the first byte the
// peer sent (-1 before any): a server that answers with a byte that starts no TLS record does
// not speak TLS.
struct BioSocket {
    int fd = -1;
    int error = 0;
    int first_byte = -1;
};
}  // namespace detail

class TlsStream {
  public:
    // A client stream on a connected socket; `host` is what was dialled (a DNS name is sent as
    // SNI and, with verify_name, must be in the server's certificate; so must an IP address).
    // `peer` ("10.0.0.1:7447") names the server in messages.
    [[nodiscard]] static Result<std::unique_ptr<TlsStream>> client(
        std::shared_ptr<const TlsContext> context, int fd, std::string_view host, std::string peer);
    // A server stream on an accepted socket.
    [[nodiscard]] static Result<std::unique_ptr<TlsStream>> server(
        std::shared_ptr<const TlsContext> context, int fd, std::string peer);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    enum class Progress { kDone, kWantRead, kWantWrite };
    // One step of the handshake: kDone once it finished, else what the socket must become
    // before the next step.
    [[nodiscard]] Result<Progress> handshake();
    [[nodiscard]] bool established() const { return established_; }

    // Like sys::read_some: the bytes read, 0 at the end of the stream (close_notify, or the
    // peer closed the socket), std::nullopt when nothing can be read now. A TLS alert from the
    // peer (it refused our certificate after the handshake, as TLS 1.3 servers do) is an error.
    [[nodiscard]] Result<std::optional<size_t>> read(void* buffer, size_t size);
    // Like sys::send_some: the bytes taken (one TLS record at most), 0 when the socket is full.
    // A write that returned 0 must be repeated with the same bytes (more may follow them).
    [[nodiscard]] Result<size_t> write(const void* data, size_t size);
    // The last read or write waits for the socket to become writable.
    [[nodiscard]] bool wants_write() const { return wants_write_; }
    // Bytes are buffered (possibly only part of a record): read again without waiting for the
    // socket.
    [[nodiscard]] bool has_pending() const;
    // Decrypted application bytes wait to be read (a partial record does not count: more of it
    // comes from the socket, which then becomes readable).
    [[nodiscard]] bool has_decrypted() const;
    // Sends close_notify once (best effort, non-blocking); reads and writes end after it.
    void shutdown();

    // What a handshake that did not finish within `timeout` means, for the owner's deadline.
    [[nodiscard]] Error handshake_timeout(std::chrono::milliseconds timeout) const;
    // "the server at 10.0.0.1:7447" / "the client at ...".
    [[nodiscard]] std::string who() const;
    // The peer's certificate ("CN=a, valid until ..."), "" when it presented none.
    [[nodiscard]] std::string peer_certificate() const;
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> peer_not_after() const;
    // Keying material exported from the established session under `label` (RFC 8446 section
    // 7.5; RFC 9266's tls-exporter channel binding), as hex; "" before the handshake finished.
    [[nodiscard]] std::string exported_key(std::string_view label, size_t bytes = 32) const;

  private:
    // The first certificate check that failed, recorded by the verify callback.
    struct VerifyFailure {
        long code = 0;  // X509_V_OK
        int depth = 0;
        std::string subject, issuer, not_before, not_after, names;
    };
    TlsStream(std::shared_ptr<const TlsContext> context, std::string peer);
    [[nodiscard]] Result<> attach(int fd);
    static int on_verify(int ok, X509_STORE_CTX* store);
    // Server: refuses a first byte that cannot start a TLS handshake record.
    [[nodiscard]] Result<bool> first_bytes_are_tls();

    // Errors (stream_errors.cpp): the failed call's SSL_get_error() value, explained.
    [[nodiscard]] Error failure(int ssl_error);
    [[nodiscard]] Error verify_error() const;
    [[nodiscard]] Error alert_error(int alert) const;
    [[nodiscard]] Error no_client_certificate() const;
    [[nodiscard]] Error closed_during_handshake() const;
    [[nodiscard]] Error not_tls() const;
    [[nodiscard]] Error plain_peer() const;

    std::shared_ptr<const TlsContext> context_;
    SSL* ssl_ = nullptr;
    detail::BioSocket socket_;
    std::string peer_;
    std::string host_;  // client: what was dialled
    VerifyFailure verify_;
    bool checked_first_bytes_ = false;
    bool established_ = false;
    bool wants_write_ = false;
    bool shut_ = false;
};

}  // namespace dora::tls
