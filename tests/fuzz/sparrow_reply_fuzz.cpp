// libFuzzer target: what the SMS gateway answers (sms::InterpretSparrowReply): bytes from
// the network, so as untrusted as a request. Invariants: no crash; out_of_credit only on
// a permanent answer; a detail stays short and on one line.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "sms/sparrow_backend.h"

using namespace phoneverify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const long status = in.ConsumeIntegralInRange<long>(0, 999);
  const std::string body = in.ConsumeRemainingBytesAsString();
  const sms::SendResult result = sms::InterpretSparrowReply(status, body);
  if (result.out_of_credit && result.kind != sms::SendResult::Kind::kPermanent) std::abort();
  if (result.detail.size() > 200) std::abort();
  if (result.detail.find_first_of("\r\n") != std::string::npos) std::abort();
  return 0;
}
