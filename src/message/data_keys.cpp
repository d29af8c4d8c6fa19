#include "message/data_keys.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace dora::message {

std::vector<uint8_t> end_of_stream_attachment(std::string_view data_secret, std::string_view key) {
    std::vector<uint8_t> out(kEndOfStreamSize);
    out[0] = kEndOfStreamMarker;
    unsigned int len = 0;
    HMAC(EVP_sha256(), data_secret.data(), static_cast<int>(data_secret.size()),
         reinterpret_cast<const unsigned char*>(key.data()), key.size(), out.data() + 1, &len);
    return out;
}

}  // namespace dora::message
