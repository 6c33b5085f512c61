// Account (the seed's AccountUser) and its sign-up input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace phoneverify::domain {

struct Account {
  int64_t id = 0;
  std::string username;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::optional<std::string> phone;  // verified phone, null until one is verified
  std::string pending_phone;         // phone given at sign-up, to verify ("" if none)
  bool phone_verified = false;
  bool is_active = true;
  int64_t date_joined = 0;
};

// What storage needs to create an account (already validated and hashed).
struct NewAccount {
  std::string username;
  std::string username_key;  // case-folded, unique
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string password_hash;
  std::string pending_phone;
  int64_t now = 0;
};

}  // namespace phoneverify::domain
