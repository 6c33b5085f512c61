#include "domain/phone_number.h"

#include <algorithm>

#include "util/text.h"

namespace phoneverify::domain {
namespace {

constexpr size_t kMaxInputLength = 40;  // after Devanagari digits are folded to ASCII
constexpr size_t kMaxRawLength = 3 * kMaxInputLength;  // a Devanagari digit is 3 bytes
constexpr size_t kNationalLength = 10;

util::Error InvalidPhone() {
  return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_phone",
                           "Only 10-digit NTC or Ncell mobile numbers are accepted.",
                           "phone");
}

// Keeps digits, drops spaces and dashes; nullopt on any other character (a leading '+'
// is reported through `plus`).
std::optional<std::string> DigitsOnly(std::string_view input, bool& plus) {
  std::string digits;
  plus = false;
  for (size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-') {
      return std::nullopt;
    }
  }
  return digits;
}

// Strips the country code in its accepted spellings; nullopt when the shape is wrong.
std::optional<std::string> National(const std::string& digits, bool plus) {
  auto has_prefix = [&](std::string_view p) { return digits.rfind(p, 0) == 0; };
  if (plus) {
    if (digits.size() == 13 && has_prefix("977")) return digits.substr(3);
    return std::nullopt;
  }
  if (digits.size() == 15 && has_prefix("00977")) return digits.substr(5);
  if (digits.size() == 13 && has_prefix("977")) return digits.substr(3);
  if (digits.size() == kNationalLength) return digits;
  return std::nullopt;
}

}  // namespace

util::Result<PhoneNumber> PhoneNumber::Parse(
    std::string_view input, const std::vector<std::string>& allowed_prefixes) {
  if (input.empty() || input.size() > kMaxRawLength) return InvalidPhone();
  const std::string folded = util::FoldDevanagariDigits(input);
  if (folded.size() > kMaxInputLength) return InvalidPhone();
  bool plus = false;
  auto digits = DigitsOnly(folded, plus);
  if (!digits) return InvalidPhone();
  auto national = National(*digits, plus);
  if (!national) return InvalidPhone();
  const std::string prefix = national->substr(0, 3);
  if (std::find(allowed_prefixes.begin(), allowed_prefixes.end(), prefix) ==
      allowed_prefixes.end()) {
    return InvalidPhone();
  }
  return PhoneNumber(*national);
}

std::string PhoneNumber::Operator() const { return OperatorOf(national_); }

std::string OperatorOf(std::string_view national) {
  const std::string_view p = national.substr(0, 3);
  if (p == "984" || p == "985" || p == "986" || p == "974" || p == "975" || p == "976") {
    return "NTC";
  }
  if (p == "980" || p == "981" || p == "982" || p == "970") return "Ncell";
  if (p == "961" || p == "962" || p == "988") return "Smart Cell";
  if (p == "972") return "UTL";
  return "Unknown";
}

std::string PhoneNumber::Masked() const { return MaskPhone(national_); }

std::string MaskPhone(std::string_view national) {
  if (national.size() < 6) return std::string(national.size(), '*');
  std::string out(national);
  std::fill(out.begin() + 2, out.end() - 2, '*');
  return out;
}

}  // namespace phoneverify::domain
