#include "util/text.h"

#include <algorithm>

namespace phoneverify::util {
namespace {

// Bytes 0x80..0xBF.
bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Devanagari digits are U+0966..U+096F: in UTF-8, E0 A5 A6 .. E0 A5 AF.
constexpr unsigned char kDevanagariLead0 = 0xE0;
constexpr unsigned char kDevanagariLead1 = 0xA5;
constexpr unsigned char kDevanagariZero = 0xA6;

}  // namespace

bool IsAsciiDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // 0x80..0xC1 (continuation / overlong lead), 0xF5..0xFF
    }
    if (n - i < len) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (!IsContinuation(s[i + k])) return false;
    }
    i += len;
  }
  return true;
}

std::string FoldDevanagariDigits(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 == kDevanagariLead0 && i + 2 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == kDevanagariLead1) {
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      if (b2 >= kDevanagariZero && b2 < kDevanagariZero + 10) {
        out.push_back(static_cast<char>('0' + (b2 - kDevanagariZero)));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace phoneverify::util
