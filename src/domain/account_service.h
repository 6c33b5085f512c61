// Sign-up, login (API tokens), token authentication and logout.
// Thread-compatible: one instance per worker thread (it holds repository references).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/account.h"
#include "domain/otp_policy.h"
#include "domain/ports.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::domain {

struct SignUpInput {
  std::string username;
  std::string password;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;  // raw, optional
};

// 401 not_authenticated: the token is unknown, revoked or malformed, or the account is
// inactive.
util::Error NotAuthenticated();

class AccountService {
 public:
  AccountService(AccountRepository& accounts, LimitRepository& limits,
                 const OtpPolicy& policy, const util::Clock& clock, util::Random& random,
                 util::PasswordHasher& hasher)
      : accounts_(accounts), limits_(limits), policy_(policy), clock_(clock),
        random_(random), hasher_(hasher) {}

  // `client_ip` everywhere below: the client as per-IP limits count it (an IPv6 client by
  // its network; http::Request::client_key).
  // 400 invalid_username / weak_password / invalid_email / invalid_phone / invalid_field
  // (a password over 1024 bytes, a name over 150 characters),
  // 409 username_taken, 429 too_many_requests (ip_max_signups_per_hour for `client_ip`,
  // checked and reserved before the password is hashed).
  util::Result<Account> SignUp(const SignUpInput& input, const std::string& client_ip);

  // Every 400 SignUp would find in `input`, one per field at fault, in the order SignUp
  // checks them (it answers the first); empty when the input is valid.
  std::vector<util::Error> ValidateSignUp(const SignUpInput& input) const;

  // Returns a new API token (64 hex chars). 401 invalid_credentials, 429 too_many_requests.
  // Login limits (login_max_failures per case-folded username, login_max_failures_per_ip
  // per `client_ip`, both over 15 min): one failure is reserved against each before the
  // password is checked, so however many arrive at once no more wrong passwords are
  // checked than a limit allows; while either is exhausted every login gets 429 (the
  // right password too). A wrong password keeps its reservations; a success clears its
  // username's count and gives back only its own reservation against the client.
  util::Result<std::string> Login(const std::string& username, const std::string& password,
                                  const std::string& client_ip);

  // Checks credentials only (for session logins); same limits and errors as Login.
  util::Result<Account> CheckCredentials(const std::string& username,
                                         const std::string& password,
                                         const std::string& client_ip);

  // 401 not_authenticated for unknown, revoked or malformed tokens, inactive accounts.
  util::Result<Account> Authenticate(const std::string& token);
  // The stored form of a well-formed token, for work that resolves it in its own round
  // trip (VerificationService::VerifyCode with a Caller); 401 for a malformed one.
  static util::Result<std::string> TokenHash(const std::string& token);
  util::Status Logout(const std::string& token);
  util::Result<Account> Get(int64_t account_id);

  // Parses `raw_phone` and remembers it as the number the account is to verify; returns
  // the national number. 400 invalid_phone, missing_field.
  util::Result<std::string> SetPendingPhone(int64_t account_id, const std::string& raw_phone);

  // Case folding used for the username uniqueness key.
  static std::string UsernameKey(const std::string& username);

 private:
  // An Argon2id hash of a random password, checked against for unknown usernames.
  const std::string& DummyHash();
  // Hashes the password and inserts the account.
  util::Result<Account> CreateAccount(const SignUpInput& input,
                                      const std::string& pending_phone, int64_t now);
  // The login limits that are switched on: the username's first, then the client's.
  std::vector<WindowLimit> LoginLimits(const std::string& username_key,
                                       const std::string& client_ip) const;
  // One event against each of `limits` (none: nothing to do), or 429 too_many_requests
  // with `refusal` and the longest wait among the exhausted ones.
  util::Result<std::vector<int64_t>> Reserve(const std::vector<WindowLimit>& limits,
                                             int64_t now, const char* refusal);
  // Releases reserved events that turned out not to count (best effort).
  void GiveBack(const std::vector<int64_t>& event_ids);
  // After a right password: clears the username's count, releases the rest.
  util::Status ForgiveLogin(const std::vector<WindowLimit>& limits,
                            const std::vector<int64_t>& event_ids);

  AccountRepository& accounts_;
  LimitRepository& limits_;
  const OtpPolicy& policy_;
  const util::Clock& clock_;
  util::Random& random_;
  util::PasswordHasher& hasher_;
  std::string dummy_hash_;
};

}  // namespace phoneverify::domain
