#include "sms/blocking_gateway.h"

#include <ctime>
#include <utility>
#include <variant>

namespace phoneverify::sms {
namespace {

constexpr int kWaitSliceMs = 1000;

}  // namespace

SendResult BlockingGateway::Send(const std::string& to, const std::string& text) {
  const uint64_t tag = next_id_++;
  const OutgoingSms sms{"msg_" + std::to_string(tag), to, text, std::time(nullptr)};
  SmsBackend::Prepared prepared = backend_->Prepare(sms);
  if (auto* result = std::get_if<SendResult>(&prepared)) return *result;
  transport_.Start(tag, std::move(std::get<HttpCall>(prepared)));
  // The call ends by itself within its timeout.
  while (true) {
    for (const Transport::Finished& done : transport_.Wait(kWaitSliceMs)) {
      if (done.tag == tag) return backend_->Interpret(sms, done.answer);
    }
  }
}

}  // namespace phoneverify::sms
