// What the service-level unit tests share: the OTP policy they run under (fixed test keys,
// the default Nepali prefixes), the SMS the last send queued (opened from its sealed outbox
// text, as the recipient would read it), and a health check they can switch off.
#pragma once

#include <string>

#include "domain/ports.h"
#include "domain/verification_service.h"
#include "fakes/memory_repositories.h"

namespace phoneverify::fakes {

// Initialises libsodium; otp_hash_key 32 × 'k', outbox_key 32 × 'o', default prefixes.
domain::OtpPolicy TestOtpPolicy();

// The text of the newest outbox message, decrypted. Throws when there is none or it does
// not open with `policy.outbox_key`.
std::string LastSmsText(const MemoryStore& store, const domain::OtpPolicy& policy);

// The first run of `policy.otp_length` characters starting at a digit in the newest SMS.
std::string LastSmsCode(const MemoryStore& store, const domain::OtpPolicy& policy);

class FakeHealth final : public domain::HealthCheck {
 public:
  util::Result<std::string> AnsweringNode() override {
    if (!up) return util::Error::Unavailable();
    return std::string("local");
  }
  bool up = true;
};

}  // namespace phoneverify::fakes
