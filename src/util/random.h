// Randomness behind an interface: libsodium's CSPRNG in production, a seeded
// deterministic source in unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace phoneverify::util {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(uint8_t* out, size_t len) = 0;
  // Uniform integer in [0, upper), upper > 0, without modulo bias.
  virtual uint32_t Uniform(uint32_t upper) = 0;

  // `n` decimal digits, each uniform (leading zeros allowed).
  std::string Digits(int n);
  // `n_bytes` random bytes rendered as lowercase hex (2*n_bytes characters).
  std::string Hex(size_t n_bytes);
  std::string Bytes(size_t n);
};

class SodiumRandom final : public Random {
 public:
  void Fill(uint8_t* out, size_t len) override;
  uint32_t Uniform(uint32_t upper) override;
};

// Deterministic source for tests (splitmix64). Not for production.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  void Fill(uint8_t* out, size_t len) override;
  uint32_t Uniform(uint32_t upper) override;

 private:
  uint64_t Next();
  uint64_t state_;
};

}  // namespace phoneverify::util
