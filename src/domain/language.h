// The languages phoneverify speaks to people (pages and SMS). English is the default.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace phoneverify::domain {

enum class Language { kEnglish, kNepali };

// "en" or "ne" (BCP 47 primary subtags; also the html lang attribute).
inline const char* LanguageCode(Language language) {
  return language == Language::kNepali ? "ne" : "en";
}

// The language for an exact code "en" / "ne"; nullopt for anything else.
inline std::optional<Language> LanguageFromCode(std::string_view code) {
  if (code == "en") return Language::kEnglish;
  if (code == "ne") return Language::kNepali;
  return std::nullopt;
}

}  // namespace phoneverify::domain
