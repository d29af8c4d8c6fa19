#include "tls/stream.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/sys.hpp"
#include "tls/x509_text.hpp"

namespace dora::tls {

namespace {

// A socket BIO whose writes use send(MSG_NOSIGNAL): OpenSSL's own uses write(), which raises
// SIGPIPE when the peer has gone.
struct SocketBio {
    // Runs `call` (one send or recv on the socket) again while interrupted; a full or empty
    // socket becomes OpenSSL's retry flag, any other failure is kept for the error message.
    template <typename Call>
    static int io(BIO* bio, bool writing, Call call) {
        auto* s = static_cast<detail::BioSocket*>(BIO_get_data(bio));
        BIO_clear_retry_flags(bio);
        for (;;) {
            ssize_t n = call(s->fd);
            if (n >= 0) {
                return static_cast<int>(n);
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                s->error = errno;
            } else if (writing) {
                BIO_set_retry_write(bio);
            } else {
                BIO_set_retry_read(bio);
            }
            return -1;
        }
    }

    static int write(BIO* bio, const char* data, int size) {
        return io(bio, true, [&](int fd) {
            return ::send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
        });
    }

    static int read(BIO* bio, char* buffer, int size) {
        int n = io(bio, false,
                   [&](int fd) { return ::recv(fd, buffer, static_cast<size_t>(size), 0); });
        auto* s = static_cast<detail::BioSocket*>(BIO_get_data(bio));
        if (n > 0 && s->first_byte < 0) {
            s->first_byte = static_cast<unsigned char>(buffer[0]);
        }
        return n;
    }

    static long ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

    static int create(BIO* bio) {
        BIO_set_init(bio, 1);
        return 1;
    }

    static const BIO_METHOD* method() {
        static BIO_METHOD* m = [] {
            BIO_METHOD* made =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dora socket");
            BIO_meth_set_write(made, &SocketBio::write);
            BIO_meth_set_read(made, &SocketBio::read);
            BIO_meth_set_ctrl(made, &SocketBio::ctrl);
            BIO_meth_set_create(made, &SocketBio::create);
            return made;
        }();
        return m;
    }
};

int stream_index() {
    static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// An IP literal, without an IPv6 zone ("fe80::1%eth0" -> "fe80::1"); std::nullopt for a name.
std::optional<std::string> ip_literal(std::string_view host) {
    std::string h(host.substr(0, host.find('%')));
    unsigned char buf[16];
    if (inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1) {
        return h;
    }
    return std::nullopt;
}

}  // namespace

TlsStream::TlsStream(std::shared_ptr<const TlsContext> context, std::string peer)
    : context_(std::move(context)), peer_(std::move(peer)) {}

TlsStream::~TlsStream() { SSL_free(ssl_); }

Result<> TlsStream::attach(int fd) {
    ssl_ = SSL_new(context_->native());
    BIO* bio = ssl_ == nullptr ? nullptr : BIO_new(SocketBio::method());
    if (bio == nullptr) {
        return fail("cannot start TLS with {}: {}", who(), detail::drain_openssl_errors());
    }
    socket_.fd = fd;
    BIO_set_data(bio, &socket_);
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_ex_data(ssl_, stream_index(), this);
    SSL_set_verify(ssl_, SSL_get_verify_mode(ssl_), &TlsStream::on_verify);
    return {};
}

Result<std::unique_ptr<TlsStream>> TlsStream::client(std::shared_ptr<const TlsContext> context,
                                                     int fd, std::string_view host,
                                                     std::string peer) {
    std::unique_ptr<TlsStream> s(new TlsStream(std::move(context), std::move(peer)));
    s->host_ = std::string(host);
    if (auto attached = s->attach(fd); !attached) {
        return fail(attached.error());
    }
    auto ip = ip_literal(host);
    if (!ip) {
        SSL_set_tlsext_host_name(s->ssl_, s->host_.c_str());  // SNI is for names only
    }
    if (s->context_->verify_name()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl_);
        // As rustls (Zenoh) checks: subjectAltName only, no fallback to the subject's CN.
        X509_VERIFY_PARAM_set_hostflags(
            param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ip->c_str())
                    : X509_VERIFY_PARAM_set1_host(param, s->host_.c_str(), 0);
        if (ok != 1) {
            return fail("TLS: cannot check the server's name against '{}': {}", host,
                        detail::drain_openssl_errors());
        }
    }
    SSL_set_connect_state(s->ssl_);
    return s;
}

Result<std::unique_ptr<TlsStream>> TlsStream::server(std::shared_ptr<const TlsContext> context,
                                                     int fd, std::string peer) {
    std::unique_ptr<TlsStream> s(new TlsStream(std::move(context), std::move(peer)));
    if (auto attached = s->attach(fd); !attached) {
        return fail(attached.error());
    }
    SSL_set_accept_state(s->ssl_);
    return s;
}

int TlsStream::on_verify(int ok, X509_STORE_CTX* store) {
    if (ok == 1) {
        return 1;
    }
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = static_cast<TlsStream*>(SSL_get_ex_data(ssl, stream_index()));
    if (self != nullptr && self->verify_.code == X509_V_OK) {
        VerifyFailure& f = self->verify_;
        f.code = X509_STORE_CTX_get_error(store);
        f.depth = X509_STORE_CTX_get_error_depth(store);
        if (const X509* cert = X509_STORE_CTX_get_current_cert(store)) {
            f.subject = detail::subject_of(cert);
            f.issuer = detail::issuer_of(cert);
            f.not_before = detail::not_before_of(cert);
            f.not_after = detail::not_after_of(cert);
            f.names = detail::names_of(cert);
        }
    }
    return 0;
}

Result<bool> TlsStream::first_bytes_are_tls() {
    // A TLS connection opens with a handshake record: type 22, then version major 3.
    unsigned char head[2];
    ssize_t n = ::recv(socket_.fd, head, sizeof head, MSG_PEEK);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return false;
        }
        return fail(sys::errno_error(fmt::format("TLS with {}: recv", who())));
    }
    if (n == 0) {
        return fail("{} closed the connection before the TLS handshake", who());
    }
    if (head[0] != 0x16 || (n == 2 && head[1] != 0x03)) {
        return fail(plain_peer());
    }
    if (n < 2) {
        return false;  // wait for the second byte
    }
    checked_first_bytes_ = true;
    return true;
}

Result<TlsStream::Progress> TlsStream::handshake() {
    if (established_) {
        return Progress::kDone;
    }
    if (context_->role() == TlsContext::Role::kServer && !checked_first_bytes_) {
        auto ready = first_bytes_are_tls();
        if (!ready) {
            return fail(ready.error());
        }
        if (!*ready) {
            return Progress::kWantRead;
        }
    }
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) {
        established_ = true;
        return Progress::kDone;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
        return Progress::kWantRead;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        return Progress::kWantWrite;
    }
    return fail(failure(e));
}

Result<std::optional<size_t>> TlsStream::read(void* buffer, size_t size) {
    ERR_clear_error();
    size_t n = 0;
    if (SSL_read_ex(ssl_, buffer, size, &n) == 1) {
        wants_write_ = false;
        return std::optional<size_t>(n);
    }
    int e = SSL_get_error(ssl_, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        wants_write_ = e == SSL_ERROR_WANT_WRITE;
        return std::optional<size_t>();
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && socket_.error == 0)) {
        return std::optional<size_t>(0);
    }
    return fail(failure(e));
}

Result<size_t> TlsStream::write(const void* data, size_t size) {
    if (size == 0) {
        return size_t{0};
    }
    ERR_clear_error();
    size_t n = 0;
    if (SSL_write_ex(ssl_, data, size, &n) == 1) {
        wants_write_ = false;
        return n;
    }
    int e = SSL_get_error(ssl_, 0);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        wants_write_ = e == SSL_ERROR_WANT_WRITE;
        return size_t{0};
    }
    Error error = failure(e);
    // A peer that refused us sent an alert, then closed: our write meets the reset, while the
    // alert, which says why, still waits to be read.
    if (e == SSL_ERROR_SYSCALL && socket_.error != 0) {
        char byte;
        size_t got = 0;
        ERR_clear_error();
        if (SSL_read_ex(ssl_, &byte, 1, &got) != 1 && SSL_get_error(ssl_, 0) == SSL_ERROR_SSL) {
            return fail(failure(SSL_ERROR_SSL));
        }
        ERR_clear_error();
    }
    return fail(std::move(error));
}

bool TlsStream::has_pending() const { return SSL_has_pending(ssl_) == 1; }

bool TlsStream::has_decrypted() const { return SSL_pending(ssl_) > 0; }

void TlsStream::shutdown() {
    if (shut_ || !established_) {
        return;
    }
    shut_ = true;
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // queues and tries to send close_notify; the socket closes anyway
    ERR_clear_error();
}

std::string TlsStream::exported_key(std::string_view label, size_t bytes) const {
    if (!established_) {
        return {};
    }
    std::vector<unsigned char> out(bytes);
    const std::string label_text(label);
    if (SSL_export_keying_material(ssl_, out.data(), out.size(), label_text.data(),
                                   label_text.size(), nullptr, 0, 0) != 1) {
        ERR_clear_error();
        return {};
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes * 2);
    for (unsigned char b : out) {
        hex.push_back(kDigits[b >> 4]);
        hex.push_back(kDigits[b & 15]);
    }
    return hex;
}

std::string TlsStream::who() const {
    return fmt::format("the {} at {}",
                       context_->role() == TlsContext::Role::kClient ? "server" : "client", peer_);
}

std::string TlsStream::peer_certificate() const {
    detail::X509Ptr cert(SSL_get1_peer_certificate(ssl_));
    if (!cert) {
        return "";
    }
    return fmt::format("{}, valid until {}", detail::subject_of(cert.get()),
                       detail::not_after_of(cert.get()));
}

std::optional<std::chrono::system_clock::time_point> TlsStream::peer_not_after() const {
    detail::X509Ptr cert(SSL_get1_peer_certificate(ssl_));
    if (!cert) {
        return std::nullopt;
    }
    return detail::not_after_time(cert.get());
}

}  // namespace dora::tls
