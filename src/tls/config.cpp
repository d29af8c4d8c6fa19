#include "tls/config.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace dora::tls {

namespace {

bool looks_like_pem(std::string_view text) { return text.find("-----BEGIN ") != text.npos; }

}  // namespace

Result<Pem> pem_from_file(std::string_view setting, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail("cannot read {} '{}': {}: check the path and its permissions", setting, path,
                    std::strerror(errno));
    }
    std::string text;
    char chunk[4096];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxPemBytes) {
            return fail("{} '{}' is larger than {} bytes: it is no PEM certificate or key", setting,
                        path, kMaxPemBytes);
        }
    }
    if (!looks_like_pem(text)) {
        return fail("{} '{}' is not PEM (no '-----BEGIN ' line): give a PEM file", setting, path);
    }
    return Pem{std::move(text), fmt::format("{} ({})", setting, path)};
}

Pem pem_from_string(std::string_view setting, std::string text) {
    return Pem{std::move(text), std::string(setting)};
}

Result<Pem> pem_from_base64(std::string_view setting, std::string_view base64) {
    std::string clean;
    for (char c : base64) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            clean.push_back(c);
        }
    }
    if (clean.empty() || clean.size() % 4 != 0 || clean.size() > 2 * kMaxPemBytes) {
        return fail("{}: not base64 (its length, {} without spaces, is not a multiple of 4)",
                    setting, clean.size());
    }
    std::string text(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()),
                            static_cast<int>(clean.size()));
    if (n < 0) {
        return fail("{}: not base64 (a character outside A-Z a-z 0-9 + / =)", setting);
    }
    // EVP_DecodeBlock counts the padding as zero bytes.
    size_t padding = clean.ends_with("==") ? 2 : clean.ends_with('=') ? 1 : 0;
    text.resize(static_cast<size_t>(n) - padding);
    if (!looks_like_pem(text)) {
        return fail(
            "{}: the decoded text is not PEM (no '-----BEGIN ' line): give the base64 "
            "of a PEM file (base64 -w0 file.pem)",
            setting);
    }
    return Pem{std::move(text), std::string(setting)};
}

}  // namespace dora::tls
