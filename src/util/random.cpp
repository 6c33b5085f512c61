#include "util/random.h"

#include <sodium.h>

#include <vector>

#include "util/crypto.h"

namespace phoneverify::util {

// One Fill for all the digits (each draw from the system's CSPRNG is a system call): a
// 32-bit word below the largest multiple of 10 that fits gives one uniform digit; the rare
// word above it (6 in 2^32) is drawn again.
std::string Random::Digits(int n) {
  constexpr uint32_t kBelow = 4294967290u;  // 10 * 429496729
  const size_t wanted = n > 0 ? static_cast<size_t>(n) : 0;
  std::string out;
  out.reserve(wanted);
  std::vector<uint32_t> words(wanted);
  while (out.size() < wanted) {
    const size_t missing = wanted - out.size();
    Fill(reinterpret_cast<uint8_t*>(words.data()), missing * sizeof(uint32_t));
    for (size_t i = 0; i < missing; ++i) {
      if (words[i] < kBelow) out.push_back(static_cast<char>('0' + words[i] % 10));
    }
  }
  return out;
}

std::string Random::Bytes(size_t n) {
  std::string out(n, '\0');
  Fill(reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

std::string Random::Hex(size_t n_bytes) { return HexEncode(Bytes(n_bytes)); }

void SodiumRandom::Fill(uint8_t* out, size_t len) { randombytes_buf(out, len); }

uint32_t SodiumRandom::Uniform(uint32_t upper) { return randombytes_uniform(upper); }

uint64_t SeededRandom::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void SeededRandom::Fill(uint8_t* out, size_t len) {
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(Next());
}

uint32_t SeededRandom::Uniform(uint32_t upper) {
  return static_cast<uint32_t>(Next() % upper);
}

}  // namespace phoneverify::util
