// Helpers shared by the API integration tests: unique names and phones, a signed-in
// user, and reading the code the fake Sparrow received (as the phone's owner would).
#pragma once

#include <string>

#include "http_client.h"
#include "stack.h"

namespace phoneverify::itest {

struct TestUser {
  std::string username;
  std::string password;
  std::string token;
  int64_t id = 0;
};

std::string UniqueName(const std::string& prefix);
// A fresh, never-used national number with the given operator prefix.
std::string UniquePhone(const std::string& prefix = "984");

// Signs up (201) and logs in (200); fails the test otherwise.
TestUser NewUser(const HttpClient& client);

// Number of SMS the fake gateway has received for `phone`.
size_t SmsCountFor(const std::string& phone);
// Waits until the fake gateway received message number `n` (1-based) for `phone` and
// returns the code in its text (English or Nepali); "" after a timeout.
std::string WaitForCode(const std::string& phone, size_t n);

// `ascii` with every ASCII digit written as its Devanagari digit (०–९), as a Nepali
// keyboard types it; other characters kept.
std::string InDevanagari(const std::string& ascii);

// A code of the same length that differs from `code` in its first digit.
std::string WrongCode(const std::string& code);

// POST send-otp, expect 202, return the code that arrives by SMS.
std::string SendAndReceive(const HttpClient& client, const TestUser& user,
                           const std::string& phone);

}  // namespace phoneverify::itest
