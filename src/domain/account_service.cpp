#include "domain/account_service.h"

#include <algorithm>

#include "domain/limits.h"
#include "domain/phone_number.h"
#include "util/crypto.h"
#include "util/text.h"

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
constexpr char kSignupIpScope[] = "ip_signup_hour";
constexpr char kLoginScope[] = "login";
constexpr char kLoginIpScope[] = "login_ip";

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
  // Too long is not weak: say what is wrong (and Argon2 never sees a huge input).
  if (p.size() > kMaxPassword) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_field",
                       "Passwords are at most 1024 bytes.", "password");
  }
  // Digits only is weak in either script a Nepali keyboard types.
  const bool all_digits = util::IsAsciiDigits(util::FoldDevanagariDigits(p));
  if (CodePoints(p) < kMinPassword || all_digits) {
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
  const int64_t now = clock_.NowSeconds();
  std::vector<WindowLimit> limits;
  if (policy_.ip_max_signups_per_hour > 0) {
    limits.push_back({kSignupIpScope, client_ip, kHour, policy_.ip_max_signups_per_hour});
  }
  // The slot is taken before the hash: a refused sign-up costs no Argon2 run.
  auto reserved = Reserve(limits, now, "Too many sign-ups from this network; try again later.");
  if (!reserved.ok()) return reserved.error();
  auto created = CreateAccount(in, pending_phone, now);
  if (!created.ok()) GiveBack(reserved.value());  // no account, nothing to count
  return created;
}

util::Result<Account> AccountService::CreateAccount(const SignUpInput& in,
                                                    const std::string& pending_phone,
                                                    int64_t now) {
  auto hash = hasher_.Hash(in.password);
  if (!hash.ok()) return hash.error();
  return accounts_.Create(NewAccount{in.username, UsernameKey(in.username), in.email,
                                     in.first_name, in.last_name, hash.value(), pending_phone,
                                     now});
}

std::vector<WindowLimit> AccountService::LoginLimits(const std::string& username_key,
                                                     const std::string& client_ip) const {
  std::vector<WindowLimit> limits;
  if (policy_.login_max_failures > 0) {
    limits.push_back({kLoginScope, username_key, kLoginWindow, policy_.login_max_failures});
  }
  if (policy_.login_max_failures_per_ip > 0) {
    limits.push_back(
        {kLoginIpScope, client_ip, kLoginWindow, policy_.login_max_failures_per_ip});
  }
  return limits;
}

util::Result<std::vector<int64_t>> AccountService::Reserve(const std::vector<WindowLimit>& limits,
                                                           int64_t now, const char* refusal) {
  if (limits.empty()) return std::vector<int64_t>();
  return limits_.Reserve(limits, now, [&](const std::vector<WindowUsage>& usage) -> util::Status {
    int64_t wait = 0;
    for (size_t i = 0; i < limits.size(); ++i) {
      if (IsExhausted(limits[i], usage[i])) {
        wait = std::max(wait, SecondsUntilFree(limits[i], usage[i], now));
      }
    }
    if (wait == 0) return util::Status::Ok();
    return TooManyRequests(refusal, wait);
  });
}

void AccountService::GiveBack(const std::vector<int64_t>& event_ids) {
  // Best effort: an event that stays counts once too often until its window passes,
  // which errs on the side of the limit.
  if (!event_ids.empty()) static_cast<void>(limits_.Release(event_ids));
}

util::Result<Account> AccountService::CheckCredentials(const std::string& username,
                                                       const std::string& password,
                                                       const std::string& client_ip) {
  const int64_t now = clock_.NowSeconds();
  const std::string key = UsernameKey(username);
  const std::vector<WindowLimit> limits = LoginLimits(key, client_ip);
  // Each limit's failure is recorded before the password is checked, so parallel
  // guesses cannot all pass a count read before any of them failed.
  auto reserved = Reserve(limits, now, "Too many failed logins; try again later.");
  if (!reserved.ok()) return reserved.error();
  auto creds = accounts_.FindCredentials(key);
  if (!creds.ok()) {
    GiveBack(reserved.value());  // no password was checked
    return creds.error();
  }
  // Unknown users still pay for one hash check so timing does not reveal them.
  const std::string& hash = creds.value() ? creds.value()->password_hash : DummyHash();
  const bool match = hasher_.Verify(password, hash);
  if (!creds.value() || !match || !creds.value()->is_active) {
    return InvalidCredentials();  // the reserved events are the failure's record
  }
  if (util::Status st = ForgiveLogin(limits, reserved.value()); !st.ok()) return st.error();
  if (auto s = accounts_.RecordLogin(creds.value()->account_id, now); !s.ok()) {
    return s.error();
  }
  return Get(creds.value()->account_id);
}

util::Status AccountService::ForgiveLogin(const std::vector<WindowLimit>& limits,
                                          const std::vector<int64_t>& event_ids) {
  std::vector<int64_t> give_back;
  for (size_t i = 0; i < limits.size(); ++i) {
    if (limits[i].scope != kLoginScope) {
      give_back.push_back(event_ids[i]);  // the client's other failures still count
    } else if (util::Status st = limits_.Clear(limits[i]); !st.ok()) {
      return st;  // a success clears its username's count
    }
  }
  if (give_back.empty()) return util::Status::Ok();
  return limits_.Release(give_back);
}

util::Result<std::string> AccountService::Login(const std::string& username,
                                                const std::string& password,
                                                const std::string& client_ip) {
  auto account = CheckCredentials(username, password, client_ip);
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
    auto hash = hasher_.Hash(random_.Hex(16));
    if (hash.ok()) dummy_hash_ = hash.value();
  }
  return dummy_hash_;
}

}  // namespace phoneverify::domain
