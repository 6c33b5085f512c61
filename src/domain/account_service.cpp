#include "domain/account_service.h"

#include <algorithm>

#include "domain/limits.h"
#include "domain/phone_number.h"
#include "util/crypto.h"

namespace phoneverify::domain {
namespace {

using util::Error;
using util::ErrorKind;

constexpr size_t kMaxUsername = 150;
constexpr size_t kMaxName = 150;
constexpr size_t kMaxEmail = 254;
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 1024;
constexpr size_t kTokenBytes = 32;

bool IsUsernameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '@' || c == '+' || c == '-' || c == '_';
}

size_t CodePoints(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

util::Status ValidateUsername(const std::string& u) {
  if (u.empty() || u.size() > kMaxUsername || !std::all_of(u.begin(), u.end(), IsUsernameChar)) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_username",
                       "Usernames are 1 to 150 letters, digits and @ . + - _ only.",
                       "username");
  }
  return util::Status::Ok();
}

util::Status ValidatePassword(const std::string& p) {
  const bool all_digits = std::all_of(p.begin(), p.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (CodePoints(p) < kMinPassword || p.size() > kMaxPassword || all_digits) {
    return Error::Make(ErrorKind::kInvalidInput, "weak_password",
                       "Passwords need at least 8 characters and must not be all digits.",
                       "password");
  }
  return util::Status::Ok();
}

util::Status ValidateEmail(const std::string& e) {
  if (e.empty()) return util::Status::Ok();
  const size_t at = e.find('@');
  const bool shape_ok = at != std::string::npos && at > 0 && e.find('@', at + 1) == std::string::npos &&
                        e.find('.', at + 2) != std::string::npos && e.back() != '.';
  const bool chars_ok = std::none_of(e.begin(), e.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '<' || c == '>' ||
           c == ',' || c == ';';
  });
  if (e.size() > kMaxEmail || !shape_ok || !chars_ok) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_email",
                       "Enter a valid email address.", "email");
  }
  return util::Status::Ok();
}

util::Status ValidateName(const std::string& value, const char* field) {
  if (CodePoints(value) > kMaxName) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_field",
                       std::string(field) + " is longer than 150 characters.", field);
  }
  return util::Status::Ok();
}

Error InvalidCredentials() {
  return Error::Make(ErrorKind::kNotAuthenticated, "invalid_credentials",
                     "Unable to log in with the provided credentials.");
}

Error TooManyRequests(const char* details, int64_t retry_after) {
  Error e = Error::Make(ErrorKind::kRateLimited, "too_many_requests", details);
  e.retry_after = retry_after;
  return e;
}

}  // namespace

Error NotAuthenticated() {
  return Error::Make(ErrorKind::kNotAuthenticated, "not_authenticated",
                     "Authentication credentials were not provided or are invalid.");
}

std::string AccountService::UsernameKey(const std::string& username) {
  std::string key = username;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return key;
}

std::vector<util::Error> AccountService::ValidateSignUp(const SignUpInput& in) const {
  std::vector<util::Error> problems;
  for (const util::Status& s :
       {ValidateUsername(in.username), ValidatePassword(in.password), ValidateEmail(in.email),
        ValidateName(in.first_name, "first_name"), ValidateName(in.last_name, "last_name")}) {
    if (!s.ok()) problems.push_back(s.error());
  }
  if (!in.phone.empty()) {
    auto phone = PhoneNumber::Parse(in.phone, policy_.allowed_prefixes);
    if (!phone.ok()) problems.push_back(phone.error());
  }
  return problems;
}

util::Result<Account> AccountService::SignUp(const SignUpInput& in,
                                             const std::string& client_ip) {
  std::vector<util::Error> problems = ValidateSignUp(in);
  if (!problems.empty()) return problems.front();
  std::string pending_phone;
  if (!in.phone.empty()) {
    pending_phone = PhoneNumber::Parse(in.phone, policy_.allowed_prefixes).value().national();
  }
  auto hash = util::HashPassword(in.password);
  if (!hash.ok()) return hash.error();
  const int64_t now = clock_.NowSeconds();
  NewAccount account{in.username, UsernameKey(in.username), in.email, in.first_name,
                     in.last_name, hash.value(), pending_phone, now};
  std::optional<WindowLimit> limit;
  if (policy_.ip_max_signups_per_hour > 0) {
    limit = WindowLimit{"ip_signup_hour", client_ip, kHour, policy_.ip_max_signups_per_hour};
  }
  return accounts_.Create(account, limit, [&](const WindowUsage& usage) -> util::Status {
    if (!limit || !IsExhausted(*limit, usage)) return util::Status::Ok();
    return TooManyRequests("Too many sign-ups from this network; try again later.",
                           SecondsUntilFree(*limit, usage, now));
  });
}

util::Result<Account> AccountService::CheckCredentials(const std::string& username,
                                                       const std::string& password) {
  const int64_t now = clock_.NowSeconds();
  const WindowLimit limit{"login", UsernameKey(username), kLoginWindow,
                          policy_.login_max_failures};
  if (limit.max > 0) {
    auto usage = limits_.Usage({limit}, now);
    if (!usage.ok()) return usage.error();
    if (IsExhausted(limit, usage.value()[0])) {
      return TooManyRequests("Too many failed logins; try again later.",
                             SecondsUntilFree(limit, usage.value()[0], now));
    }
  }
  auto creds = accounts_.FindCredentials(limit.key);
  if (!creds.ok()) return creds.error();
  // Unknown users still pay for one hash check so timing does not reveal them.
  const std::string& hash = creds.value() ? creds.value()->password_hash : DummyHash();
  const bool match = util::VerifyPassword(password, hash);
  if (!creds.value() || !match || !creds.value()->is_active) {
    if (limit.max > 0) {
      if (auto s = limits_.Record(limit, now); !s.ok()) return s.error();
    }
    return InvalidCredentials();
  }
  if (limit.max > 0) {
    if (auto s = limits_.Clear(limit); !s.ok()) return s.error();
  }
  if (auto s = accounts_.RecordLogin(creds.value()->account_id, now); !s.ok()) {
    return s.error();
  }
  return Get(creds.value()->account_id);
}

util::Result<std::string> AccountService::Login(const std::string& username,
                                                const std::string& password) {
  auto account = CheckCredentials(username, password);
  if (!account.ok()) return account.error();
  std::string token = random_.Hex(kTokenBytes);
  auto stored = accounts_.StoreToken(util::Hash(token), account.value().id,
                                     clock_.NowSeconds());
  if (!stored.ok()) return stored.error();
  return token;
}

util::Result<std::string> AccountService::TokenHash(const std::string& token) {
  if (token.size() != kTokenBytes * 2) return NotAuthenticated();
  return util::Hash(token);
}

util::Result<Account> AccountService::Authenticate(const std::string& token) {
  auto token_hash = TokenHash(token);
  if (!token_hash.ok()) return token_hash.error();
  auto account = accounts_.FindByTokenHash(token_hash.value());
  if (!account.ok()) return account.error();
  if (!account.value() || !account.value()->is_active) return NotAuthenticated();
  return *account.value();
}

util::Status AccountService::Logout(const std::string& token) {
  auto deleted = accounts_.DeleteToken(util::Hash(token));
  if (!deleted.ok()) return deleted.error();
  if (!deleted.value()) return NotAuthenticated();
  return util::Status::Ok();
}

util::Result<Account> AccountService::Get(int64_t account_id) {
  auto account = accounts_.FindById(account_id);
  if (!account.ok()) return account.error();
  if (!account.value()) return NotAuthenticated();
  return *account.value();
}

util::Result<std::string> AccountService::SetPendingPhone(int64_t account_id,
                                                         const std::string& raw_phone) {
  if (raw_phone.empty()) {
    return Error::Make(ErrorKind::kInvalidInput, "missing_field", "This field is required.",
                       "phone");
  }
  auto phone = PhoneNumber::Parse(raw_phone, policy_.allowed_prefixes);
  if (!phone.ok()) return phone.error();
  const std::string& national = phone.value().national();
  if (util::Status st = accounts_.SetPendingPhone(account_id, national); !st.ok()) {
    return st.error();
  }
  return national;
}

const std::string& AccountService::DummyHash() {
  if (dummy_hash_.empty()) {
    auto hash = util::HashPassword(random_.Hex(16));
    if (hash.ok()) dummy_hash_ = hash.value();
  }
  return dummy_hash_;
}

}  // namespace phoneverify::domain
