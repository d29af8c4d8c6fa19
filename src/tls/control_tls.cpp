#include "tls/control_tls.hpp"

#include "tls/stream.hpp"

namespace dora::tls {

namespace {

Wording control_wording() {
    Wording w;
    w.root_ca = "the cluster CA";
    w.listen_certificate = "the coordinator's certificate";
    w.listen_private_key = "the coordinator's private key";
    w.connect_certificate = "the client certificate";
    w.connect_private_key = "the client's private key";
    w.tls_port = "a dora coordinator with a cluster token (it speaks TLS after its challenge)";
    w.use_tls = "use a dora of the same version, with the cluster token";
    w.use_plain = "check that the address is a dora coordinator of the same version";
    return w;
}

class ControlStream final : public message::SecureStream {
  public:
    explicit ControlStream(std::unique_ptr<TlsStream> stream) : stream_(std::move(stream)) {}

    Result<Step> handshake() override {
        auto progress = stream_->handshake();
        if (!progress) {
            return fail(progress.error());
        }
        switch (*progress) {
            case TlsStream::Progress::kDone:
                return Step::kDone;
            case TlsStream::Progress::kWantRead:
                return Step::kWantRead;
            case TlsStream::Progress::kWantWrite:
                return Step::kWantWrite;
        }
        return Step::kWantRead;
    }
    Result<std::optional<size_t>> read(void* buffer, size_t size) override {
        return stream_->read(buffer, size);
    }
    Result<size_t> write(const void* data, size_t size) override {
        return stream_->write(data, size);
    }
    // Only whole decrypted bytes: a partial record waits for the socket (polling it is right).
    bool has_pending() const override { return stream_->has_decrypted(); }
    std::string binding() const override { return stream_->exported_key(kControlBindingLabel); }
    Error handshake_timeout(std::chrono::milliseconds timeout) const override {
        return stream_->handshake_timeout(timeout);
    }
    void shutdown() override { stream_->shutdown(); }

  private:
    std::unique_ptr<TlsStream> stream_;
};

}  // namespace

Result<std::shared_ptr<const TlsContext>> control_server_context(std::string certificate_pem,
                                                                 std::string key_pem) {
    TlsConfig config;
    config.certificate =
        pem_from_string("the coordinator's certificate", std::move(certificate_pem));
    config.private_key = pem_from_string("the coordinator's private key", std::move(key_pem));
    config.tls13_only = true;  // its exporter is what the hello's proofs are bound to
    config.wording = control_wording();
    return TlsContext::server(config);
}

Result<std::shared_ptr<const TlsContext>> control_client_context() {
    TlsConfig config;
    config.verify_peer = false;  // the hello authenticates the coordinator (see the header)
    config.verify_name = false;
    config.system_roots = false;
    config.tls13_only = true;
    config.wording = control_wording();
    return TlsContext::client(config);
}

Result<std::unique_ptr<message::SecureStream>> control_server_stream(
    std::shared_ptr<const TlsContext> context, int fd, std::string peer) {
    auto stream = TlsStream::server(std::move(context), fd, std::move(peer));
    if (!stream) {
        return fail(stream.error());
    }
    return std::unique_ptr<message::SecureStream>(new ControlStream(std::move(*stream)));
}

Result<std::unique_ptr<message::SecureStream>> control_client_stream(
    std::shared_ptr<const TlsContext> context, int fd, std::string_view host, std::string peer) {
    auto stream = TlsStream::client(std::move(context), fd, host, std::move(peer));
    if (!stream) {
        return fail(stream.error());
    }
    return std::unique_ptr<message::SecureStream>(new ControlStream(std::move(*stream)));
}

}  // namespace dora::tls
