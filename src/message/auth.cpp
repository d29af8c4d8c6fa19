#include "message/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/hex.hpp"

namespace dora::message {

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    size_t start = s.find_first_not_of(" \t");
    return start == std::string::npos ? std::string() : s.substr(start);
}

}  // namespace

std::string random_hex32() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        std::abort();  // no randomness: nothing secure can be done
    }
    return to_hex(bytes, sizeof bytes);
}

std::string hmac_proof(std::string_view token, std::string_view nonce) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
         reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), mac, &len);
    return to_hex(mac, len);
}

namespace {

std::string labelled_proof(std::string_view token, std::string_view label,
                           const HelloNonces& nonces) {
    std::string signed_text;
    signed_text.reserve(label.size() + nonces.server.size() + nonces.client.size() +
                        nonces.role.size() + nonces.binding.size() + 4);
    signed_text.append(label).push_back('\0');
    signed_text.append(nonces.server).push_back('\0');
    signed_text.append(nonces.client).push_back('\0');
    signed_text.append(nonces.role).push_back('\0');
    signed_text.append(nonces.binding);
    return hmac_proof(token, signed_text);
}

}  // namespace

std::string client_proof(std::string_view token, const HelloNonces& nonces) {
    return labelled_proof(token, "dora hello: client", nonces);
}

std::string coordinator_proof(std::string_view token, const HelloNonces& nonces) {
    return labelled_proof(token, "dora hello: coordinator", nonces);
}

bool is_nonce(std::string_view text) { return is_lower_hex(text, 64); }

bool proofs_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::optional<std::string>> load_token(
    const std::optional<std::filesystem::path>& token_file) {
    auto read_file = [](const std::filesystem::path& p) -> Result<std::string> {
        std::ifstream in(p);
        if (!in) {
            return fail("cannot read the token file {}", p.string());
        }
        std::stringstream ss;
        ss << in.rdbuf();
        std::string token = trim(ss.str());
        if (token.empty()) {
            return fail("the token file {} is empty: write a token into it (openssl rand -hex 32)",
                        p.string());
        }
        return token;
    };
    if (token_file) {
        auto t = read_file(*token_file);
        if (!t) {
            return fail(t.error());
        }
        return std::optional<std::string>(*t);
    }
    if (const char* env = std::getenv("DORA_TOKEN"); env != nullptr && *env != '\0') {
        return std::optional<std::string>(trim(env));
    }
    std::filesystem::path dir;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
        dir = xdg;
    } else if (const char* home = std::getenv("HOME"); home != nullptr) {
        dir = std::filesystem::path(home) / ".config";
    }
    if (!dir.empty()) {
        auto file = dir / "dora" / "token";
        std::error_code ec;
        if (std::filesystem::exists(file, ec)) {
            auto t = read_file(file);
            if (!t) {
                return fail(t.error());
            }
            return std::optional<std::string>(*t);
        }
    }
    return std::optional<std::string>();
}

}  // namespace dora::message
