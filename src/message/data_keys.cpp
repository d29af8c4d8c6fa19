#include "message/data_keys.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <optional>

#include "core/hex.hpp"

namespace dora::message {

namespace {

constexpr size_t kPublicKeySize = 32;  // Ed25519
constexpr size_t kSignatureSize = 64;
static_assert(kEndOfStreamSize == 1 + kSignatureSize);

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    ERR_clear_error();
    return text.data();
}

// kStreamEndContext, a zero byte, then the key: what a stream-end signature signs.
std::string signed_text(std::string_view key) {
    std::string text(kStreamEndContext);
    text.push_back('\0');
    text.append(key);
    return text;
}

std::optional<std::array<unsigned char, kPublicKeySize>> parse_hex(std::string_view hex) {
    if (!is_lower_hex(hex, kPublicKeySize * 2)) {
        return std::nullopt;
    }
    std::array<unsigned char, kPublicKeySize> out{};
    auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<unsigned char>(digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]));
    }
    return out;
}

}  // namespace

Result<StreamEndSigner> StreamEndSigner::generate() {
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (raw == nullptr) {
        return fail("cannot make the daemon's stream-end key pair (Ed25519): {}", openssl_error());
    }
    StreamEndSigner signer;
    signer.key_ = std::shared_ptr<EVP_PKEY>(raw, PkeyFree{});
    std::array<unsigned char, kPublicKeySize> pub{};
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(raw, pub.data(), &len) != 1 || len != pub.size()) {
        return fail("cannot read the daemon's stream-end public key: {}", openssl_error());
    }
    signer.public_key_ = to_hex(pub.data(), pub.size());
    return signer;
}

std::vector<uint8_t> StreamEndSigner::end_of_stream(std::string_view key) const {
    std::vector<uint8_t> out(kEndOfStreamSize);
    out[0] = kEndOfStreamMarker;
    const std::string text = signed_text(key);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    size_t len = kSignatureSize;
    // Ed25519 signing fails only when memory runs out; an all-zero signature then never verifies,
    // so the consumers' daemons report the end as forged instead of taking it.
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), out.data() + 1, &len,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
        ERR_clear_error();
        std::fill(out.begin() + 1, out.end(), 0);
    }
    return out;
}

Result<StreamEndVerifier> StreamEndVerifier::from_public_key(std::string_view public_key) {
    auto bytes = parse_hex(public_key);
    if (!bytes) {
        return fail(
            "a stream-end key is 64 lowercase hex characters (an Ed25519 public key), not "
            "{} characters",
            public_key.size());
    }
    EVP_PKEY* raw =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes->data(), bytes->size());
    if (raw == nullptr) {
        return fail("not an Ed25519 public key: {}", openssl_error());
    }
    StreamEndVerifier verifier;
    verifier.key_ = std::shared_ptr<EVP_PKEY>(raw, PkeyFree{});
    return verifier;
}

bool StreamEndVerifier::verify(std::string_view key, std::span<const uint8_t> attachment) const {
    if (!looks_like_end_of_stream(attachment) || !key_) {
        return false;
    }
    const std::string text = signed_text(key);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), attachment.data() + 1, kSignatureSize,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
    ERR_clear_error();
    return ok;
}

}  // namespace dora::message
