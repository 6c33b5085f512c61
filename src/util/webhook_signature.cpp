#include "util/webhook_signature.h"

#include <sodium.h>

#include <stdexcept>

namespace phoneverify::util {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kSignatureVersion = "v1,";

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), U(bytes), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL libsodium writes
  return out;
}

std::optional<std::string> FromBase64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace

std::optional<std::string> ParseWebhookSecret(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) != kSecretPrefix) return std::nullopt;
  std::optional<std::string> key = FromBase64(secret.substr(kSecretPrefix.size()));
  // A short key would make every signature guessable: refused, not padded.
  if (!key || key->size() < kMinWebhookKeyBytes) return std::nullopt;
  return key;
}

std::string FormatWebhookSecret(std::string_view key_bytes) {
  return std::string(kSecretPrefix) + Base64(key_bytes);
}

std::string WebhookSignature(std::string_view key_bytes, std::string_view id,
                             int64_t timestamp, std::string_view body) {
  const std::string stamp = std::to_string(timestamp);
  // The multi-part API, because crypto_auth_hmacsha256() takes only 32-byte keys.
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  if (crypto_auth_hmacsha256_init(&state, U(key_bytes), key_bytes.size()) != 0 ||
      crypto_auth_hmacsha256_update(&state, U(id), id.size()) != 0 ||
      crypto_auth_hmacsha256_update(&state, U("."), 1) != 0 ||
      crypto_auth_hmacsha256_update(&state, U(stamp), stamp.size()) != 0 ||
      crypto_auth_hmacsha256_update(&state, U("."), 1) != 0 ||
      crypto_auth_hmacsha256_update(&state, U(body), body.size()) != 0 ||
      crypto_auth_hmacsha256_final(&state, mac) != 0) {
    throw std::runtime_error("crypto_auth_hmacsha256 failed");
  }
  sodium_memzero(&state, sizeof state);
  std::string signature(kSignatureVersion);
  signature += Base64(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
  sodium_memzero(mac, sizeof mac);
  return signature;
}

}  // namespace phoneverify::util
