#include "util/random.h"

#include <sodium.h>

#include "util/crypto.h"

namespace phoneverify::util {

std::string Random::Digits(int n) {
  std::string out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + Uniform(10)));
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
