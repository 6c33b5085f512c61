// A Nepali mobile number, parsed at the edge. Accepts 98XXXXXXXX, +97798XXXXXXXX,
// 97798XXXXXXXX, 0097798XXXXXXXX, with spaces or dashes anywhere between digits, in ASCII
// or Devanagari digits (०–९), mixed too.
// The stored, returned and sent form is the 10-digit national number.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace phoneverify::domain {

class PhoneNumber {
 public:
  // invalid_phone (field "phone") when the input is not a 10-digit mobile number whose
  // first three digits are in `allowed_prefixes`.
  static util::Result<PhoneNumber> Parse(std::string_view input,
                                         const std::vector<std::string>& allowed_prefixes);

  const std::string& national() const { return national_; }
  // "NTC", "Ncell", "Smart Cell", "UTL" or "Unknown".
  std::string Operator() const;
  // 98******78: first two and last two digits, for logs and pages.
  std::string Masked() const;

  bool operator==(const PhoneNumber& other) const { return national_ == other.national_; }

 private:
  explicit PhoneNumber(std::string national) : national_(std::move(national)) {}
  std::string national_;
};

// The operator of a national number by its first three digits (as PhoneNumber::Operator).
std::string OperatorOf(std::string_view national);

// Masks any 10-digit national number string the same way (for logs).
std::string MaskPhone(std::string_view national);

}  // namespace phoneverify::domain
