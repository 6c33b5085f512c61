// Thin, typed wrappers over libsodium. All functions are thread-safe once
// InitCrypto() has succeeded (call it once from main before forking).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace phoneverify::util {

inline constexpr size_t kKeyBytes = 32;

// sodium_init(); false when libsodium cannot start.
bool InitCrypto();

// Argon2id (crypto_pwhash_str). Parameters chosen so a worker's peak RSS stays small
// (12 MiB, 3 passes: OWASP's second recommended setting).
Result<std::string> HashPassword(std::string_view password);
bool VerifyPassword(std::string_view password, const std::string& encoded_hash);

// The costly password work behind an interface, so tests can count it (limits must
// refuse before any of it runs). Thread-compatible.
class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  virtual Result<std::string> Hash(std::string_view password) = 0;
  virtual bool Verify(std::string_view password, const std::string& encoded_hash) = 0;
};

// HashPassword / VerifyPassword.
class Argon2PasswordHasher final : public PasswordHasher {
 public:
  Result<std::string> Hash(std::string_view password) override { return HashPassword(password); }
  bool Verify(std::string_view password, const std::string& encoded_hash) override {
    return VerifyPassword(password, encoded_hash);
  }
};

// BLAKE2b-256 keyed with `key` (kKeyBytes). Returns 32 raw bytes. Throws
// std::invalid_argument for a key outside 16..64 bytes (a bug: keys are checked at start-up).
std::string KeyedHash(std::string_view key, std::string_view message);
// BLAKE2b-256, unkeyed (for API tokens and session ids: 256-bit random inputs).
std::string Hash(std::string_view message);

// Constant-time equality; false on length mismatch.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// XSalsa20-Poly1305 (crypto_secretbox). Output = nonce || ciphertext. Seal throws
// std::invalid_argument for a key that is not 32 bytes; Open answers nullopt.
std::string Seal(std::string_view key, std::string_view plaintext);
std::optional<std::string> Open(std::string_view key, std::string_view sealed);

std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace phoneverify::util
