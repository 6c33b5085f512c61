#include "util/crypto.h"

#include <sodium.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace phoneverify::util {
namespace {

constexpr unsigned long long kPwOpsLimit = 3;
constexpr size_t kPwMemLimit = 12u * 1024u * 1024u;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

bool InitCrypto() { return sodium_init() >= 0; }

Result<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kPwOpsLimit,
                            kPwMemLimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Internal("password hashing ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& encoded_hash) {
  return crypto_pwhash_str_verify(encoded_hash.c_str(), password.data(),
                                  password.size()) == 0;
}

std::string KeyedHash(std::string_view key, std::string_view message) {
  // Keys are checked at start-up: a wrong one here is a bug, never a weaker hash.
  if (key.size() < crypto_generichash_KEYBYTES_MIN ||
      key.size() > crypto_generichash_KEYBYTES_MAX) {
    throw std::invalid_argument("KeyedHash: key of " + std::to_string(key.size()) + " bytes");
  }
  std::string out(crypto_generichash_BYTES, '\0');
  if (crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), U(message),
                         message.size(), U(key), key.size()) != 0) {
    throw std::runtime_error("crypto_generichash failed");
  }
  return out;
}

std::string Hash(std::string_view message) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     U(message), message.size(), nullptr, 0);
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Seal(std::string_view key, std::string_view plaintext) {
  // libsodium reads exactly KEYBYTES from `key`: a shorter one would read past it.
  if (key.size() != crypto_secretbox_KEYBYTES) {
    throw std::invalid_argument("Seal: key of " + std::to_string(key.size()) + " bytes");
  }
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      plaintext.size(),
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  if (crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, U(plaintext),
                            plaintext.size(), nonce, U(key)) != 0) {
    throw std::runtime_error("crypto_secretbox_easy failed");
  }
  return out;
}

std::optional<std::string> Open(std::string_view key, std::string_view sealed) {
  const size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (sealed.size() < overhead || key.size() != crypto_secretbox_KEYBYTES) {
    return std::nullopt;
  }
  std::string out(sealed.size() - overhead, '\0');
  const auto* nonce = U(sealed);
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 sealed.size() - crypto_secretbox_NONCEBYTES, nonce,
                                 U(key)) != 0) {
    return std::nullopt;
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), U(bytes), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  std::string out(hex.size() / 2 + 1, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace phoneverify::util
