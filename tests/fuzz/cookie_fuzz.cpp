// libFuzzer target: reading cookies from an untrusted Cookie header (http::CookieValue),
// for the names the pages use and for names taken from the input. Invariants: no crash;
// a value found is a substring of the header (quotes aside) and holds no ';'.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/cookies.h"

using namespace phoneverify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string name = in.ConsumeRandomLengthString(16);
  const std::string header = in.ConsumeRemainingBytesAsString();
  for (const std::string& wanted : {std::string("pv_session"), std::string("lang"),
                                    std::string("pv_notice"), name}) {
    auto value = http::CookieValue(header, wanted);
    if (!value) continue;
    if (value->find(';') != std::string::npos) std::abort();
    if (!value->empty() && header.find(*value) == std::string::npos) std::abort();
  }
  return 0;
}
