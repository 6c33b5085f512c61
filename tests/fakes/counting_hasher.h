// The real Argon2id hasher, counting its calls: tests assert that a refused request
// computed no password hash at all. `while_verifying`, when set, runs inside Verify before
// the check: requests that arrive while a password is being checked.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "util/crypto.h"

namespace phoneverify::fakes {

class CountingPasswordHasher final : public util::PasswordHasher {
 public:
  util::Result<std::string> Hash(std::string_view password) override {
    ++hashes;
    return real_.Hash(password);
  }
  bool Verify(std::string_view password, const std::string& encoded_hash) override {
    ++verifies;
    if (while_verifying) while_verifying();
    return real_.Verify(password, encoded_hash);
  }
  int Calls() const { return hashes + verifies; }

  int hashes = 0;
  int verifies = 0;
  std::function<void()> while_verifying;

 private:
  util::Argon2PasswordHasher real_;
};

}  // namespace phoneverify::fakes
