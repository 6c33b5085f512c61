// Small, pure checks and transformations of text that several layers need. One home each.
#pragma once

#include <string>
#include <string_view>

namespace phoneverify::util {

// True when `text` is non-empty and every byte is an ASCII digit '0'..'9'.
bool IsAsciiDigits(std::string_view text);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// Devanagari digits U+0966..U+096F (०..९, as a Nepali keyboard types them) become the
// ASCII digits 0..9; every other byte is kept as it is, so other scripts' digits
// (Arabic-Indic, full-width, ...) stay non-digits for the caller's own checks.
std::string FoldDevanagariDigits(std::string_view text);

}  // namespace phoneverify::util
