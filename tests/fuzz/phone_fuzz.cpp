// libFuzzer target: phone number normalisation (domain::PhoneNumber::Parse, MaskPhone).
// Invariants: an accepted number is 10 digits with an allowed prefix, parsing its own
// national form gives it back, and a masked number never shows its middle digits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "domain/phone_number.h"
#include "util/config.h"

using namespace phoneverify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> prefixes = util::Config().allowed_prefixes;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto phone = domain::PhoneNumber::Parse(input, prefixes);
  const std::string masked = domain::MaskPhone(input);
  (void)masked;
  if (!phone.ok()) return 0;
  const std::string& national = phone.value().national();
  if (national.size() != 10 || national.find_first_not_of("0123456789") != std::string::npos) {
    std::abort();
  }
  bool allowed = false;
  for (const auto& p : prefixes) allowed = allowed || national.compare(0, 3, p) == 0;
  if (!allowed) std::abort();
  auto again = domain::PhoneNumber::Parse(national, prefixes);
  if (!again.ok() || again.value().national() != national) std::abort();
  const std::string hidden = phone.value().Masked();
  if (hidden.find(national.substr(2, 6)) != std::string::npos) std::abort();
  (void)phone.value().Operator();
  return 0;
}
