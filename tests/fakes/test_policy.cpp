#include "fakes/test_policy.h"

#include <stdexcept>

#include "util/config.h"
#include "util/crypto.h"

namespace phoneverify::fakes {

domain::OtpPolicy TestOtpPolicy() {
  if (!util::InitCrypto()) throw std::runtime_error("libsodium failed to initialise");
  // The built-in defaults, with fixed test keys.
  domain::OtpPolicy policy = domain::OtpPolicyFrom(util::Config());
  policy.otp_hash_key = std::string(32, 'k');
  policy.outbox_key = std::string(32, 'o');
  return policy;
}

std::string LastSmsText(const MemoryStore& store, const domain::OtpPolicy& policy) {
  if (store.outbox.empty()) throw std::runtime_error("no SMS was queued");
  auto text = util::Open(policy.outbox_key, store.outbox.back().sealed_text);
  if (!text) throw std::runtime_error("the queued SMS does not open with the outbox key");
  return *text;
}

std::string LastSmsCode(const MemoryStore& store, const domain::OtpPolicy& policy) {
  const std::string text = LastSmsText(store, policy);
  const size_t start = text.find_first_of("0123456789");
  if (start == std::string::npos) throw std::runtime_error("the queued SMS has no code");
  return text.substr(start, policy.otp_length);
}

}  // namespace phoneverify::fakes
