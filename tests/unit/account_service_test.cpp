#include "domain/account_service.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "fakes/counting_hasher.h"
#include "fakes/memory_repositories.h"
#include "util/config.h"
#include "util/crypto.h"

namespace phoneverify::domain {
namespace {

constexpr char kIp[] = "10.0.0.1";

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{7};
  fakes::MemoryStore store;
  fakes::MemoryAccountRepository accounts{store};
  fakes::MemoryLimitRepository limits{store};
  OtpPolicy policy = OtpPolicyFrom(util::Config());
  fakes::CountingPasswordHasher hasher;

  Fixture() { BOOST_REQUIRE(util::InitCrypto()); }
  AccountService Service() { return AccountService(accounts, limits, policy, clock, random, hasher); }
  SignUpInput Input(const std::string& username, const std::string& password = "correct horse") {
    SignUpInput in;
    in.username = username;
    in.password = password;
    return in;
  }
  std::string ErrorCodeOf(const SignUpInput& in) {
    auto r = Service().SignUp(in, "10.0.0.1");
    return r.ok() ? "ok" : r.error().code;
  }
};

BOOST_FIXTURE_TEST_SUITE(account_service, Fixture)

BOOST_AUTO_TEST_CASE(sign_up_stores_a_kdf_hash_and_the_pending_phone) {
  SignUpInput in = Input("Alice");
  in.email = "alice@example.com";
  in.phone = "+977 980-1234567";
  auto created = Service().SignUp(in, "10.0.0.1");
  BOOST_REQUIRE(created.ok());
  BOOST_TEST(created.value().username == "Alice");
  BOOST_TEST(created.value().pending_phone == "9801234567");
  BOOST_TEST(!created.value().phone.has_value());
  const auto& row = store.accounts.at(created.value().id);
  BOOST_TEST(row.password_hash.rfind("$argon2id$", 0) == 0);
  BOOST_TEST(row.password_hash.find("correct horse") == std::string::npos);
  BOOST_TEST(row.username_key == "alice");
}

BOOST_AUTO_TEST_CASE(usernames_are_unique_case_insensitively) {
  BOOST_TEST(ErrorCodeOf(Input("alice")) == "ok");
  BOOST_TEST(ErrorCodeOf(Input("ALICE")) == "username_taken");
}

BOOST_AUTO_TEST_CASE(input_validation_codes) {
  BOOST_TEST(ErrorCodeOf(Input("")) == "invalid_username");
  BOOST_TEST(ErrorCodeOf(Input("has space")) == "invalid_username");
  BOOST_TEST(ErrorCodeOf(Input("x' OR 1=1 --")) == "invalid_username");
  BOOST_TEST(ErrorCodeOf(Input(std::string(151, 'a'))) == "invalid_username");
  BOOST_TEST(ErrorCodeOf(Input("bob", "short")) == "weak_password");
  BOOST_TEST(ErrorCodeOf(Input("bob", "1234567890")) == "weak_password");
  BOOST_TEST(ErrorCodeOf(Input("bob", "")) == "weak_password");
  BOOST_TEST(ErrorCodeOf(Input("bob", "१२३४५६७८९०")) == "weak_password");  // digits, Devanagari
  BOOST_TEST(ErrorCodeOf(Input("bob", "12345६७८९०")) == "weak_password");  // digits, mixed
  // Too long is not weak: its own answer, naming the field (and no hash of 1 MiB).
  BOOST_TEST(ErrorCodeOf(Input("bob", std::string(1025, 'p'))) == "invalid_field");
  SignUpInput bad_email = Input("bob");
  bad_email.email = "not-an-email";
  BOOST_TEST(ErrorCodeOf(bad_email) == "invalid_email");
  SignUpInput bad_phone = Input("bob");
  bad_phone.phone = "9611234567";
  BOOST_TEST(ErrorCodeOf(bad_phone) == "invalid_phone");
  BOOST_TEST(store.accounts.empty());
}

BOOST_AUTO_TEST_CASE(nepali_password_counts_characters_not_bytes) {
  // 4 Devanagari characters = 12 bytes: still too short.
  BOOST_TEST(ErrorCodeOf(Input("ram", "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d")) ==
             "weak_password");
}

BOOST_AUTO_TEST_CASE(signups_per_ip_are_limited) {
  policy.ip_max_signups_per_hour = 2;
  BOOST_TEST(ErrorCodeOf(Input("a1")) == "ok");
  BOOST_TEST(ErrorCodeOf(Input("a2")) == "ok");
  auto third = Service().SignUp(Input("a3"), "10.0.0.1");
  BOOST_REQUIRE(!third.ok());
  BOOST_TEST(third.error().code == "too_many_requests");
  BOOST_TEST(*third.error().retry_after == 3600);
  BOOST_TEST(Service().SignUp(Input("a4"), "10.0.0.2").ok());
  clock.Advance(3600);
  BOOST_TEST(ErrorCodeOf(Input("a5")) == "ok");
}

BOOST_AUTO_TEST_CASE(login_issues_a_token_that_authenticates_until_logout) {
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  auto token = Service().Login("ALICE", "correct horse", kIp);
  BOOST_REQUIRE(token.ok());
  BOOST_TEST(token.value().size() == 64u);
  BOOST_TEST(store.tokens.count(token.value()) == 0u);  // stored only hashed
  auto me = Service().Authenticate(token.value());
  BOOST_REQUIRE(me.ok());
  BOOST_TEST(me.value().username == "alice");
  BOOST_TEST(Service().Logout(token.value()).ok());
  BOOST_TEST(Service().Authenticate(token.value()).error().code == "not_authenticated");
  BOOST_TEST(Service().Authenticate("garbage").error().code == "not_authenticated");
}

BOOST_AUTO_TEST_CASE(unknown_user_and_wrong_password_look_the_same) {
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  auto wrong = Service().Login("alice", "wrong password", kIp);
  auto unknown = Service().Login("nobody", "wrong password", kIp);
  BOOST_TEST(wrong.error().code == "invalid_credentials");
  BOOST_TEST(unknown.error().code == "invalid_credentials");
  BOOST_TEST(wrong.error().details == unknown.error().details);
}

BOOST_AUTO_TEST_CASE(login_failures_throttle_even_the_right_password) {
  policy.login_max_failures = 3;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  for (int i = 0; i < 3; ++i) BOOST_TEST(Service().Login("Alice", "nope nope", kIp).error().code == "invalid_credentials");
  auto blocked = Service().Login("alice", "correct horse", kIp);
  BOOST_TEST(blocked.error().code == "too_many_requests");
  BOOST_TEST(*blocked.error().retry_after == 900);
  clock.Advance(900);
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).ok());
}

BOOST_AUTO_TEST_CASE(success_clears_the_failure_count) {
  policy.login_max_failures = 3;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  Service().Login("alice", "nope nope", kIp);
  Service().Login("alice", "nope nope", kIp);
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).ok());
  Service().Login("alice", "nope nope", kIp);
  Service().Login("alice", "nope nope", kIp);
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).ok());
}

BOOST_AUTO_TEST_CASE(unknown_usernames_are_throttled_too) {
  policy.login_max_failures = 2;
  Service().Login("ghost", "x", kIp);
  Service().Login("GHOST", "x", kIp);
  BOOST_TEST(Service().Login("ghost", "x", kIp).error().code == "too_many_requests");
}

BOOST_AUTO_TEST_CASE(inactive_accounts_cannot_log_in) {
  auto created = Service().SignUp(Input("alice"), "1");
  BOOST_REQUIRE(created.ok());
  store.accounts[created.value().id].account.is_active = false;
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).error().code == "invalid_credentials");
}

// Regression (issue 15, "the login throttle races"): the count was read, Argon2 ran, then
// the failure was recorded, so guesses that arrived while one was being checked all saw
// the count from before it. Here each guess arrives while the one before is checked.
BOOST_AUTO_TEST_CASE(login_throttle_holds_for_guesses_arriving_during_a_check) {
  policy.login_max_failures = 3;
  policy.login_max_failures_per_ip = 0;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), kIp).ok());
  std::vector<std::string> answers;
  int arrived = 0;
  hasher.while_verifying = [&] {
    if (arrived == 10) return;
    ++arrived;
    auto r = Service().Login("alice", "wrong guess", kIp);
    answers.push_back(r.ok() ? "ok" : r.error().code);
  };
  hasher.verifies = 0;
  BOOST_TEST(Service().Login("alice", "wrong guess", kIp).error().code ==
             "invalid_credentials");
  BOOST_TEST(hasher.verifies == 3);  // the limit, however the guesses overlap
  BOOST_TEST(std::count(answers.begin(), answers.end(), "invalid_credentials") == 2);
  BOOST_TEST(std::count(answers.begin(), answers.end(), "too_many_requests") == 1);
  hasher.while_verifying = nullptr;
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).error().code ==
             "too_many_requests");
}

BOOST_AUTO_TEST_CASE(a_refused_login_computes_no_hash) {
  policy.login_max_failures = 2;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), kIp).ok());
  Service().Login("alice", "nope nope", kIp);
  Service().Login("alice", "nope nope", kIp);
  const int before = hasher.Calls();
  auto refused = Service().Login("alice", "correct horse", kIp);
  BOOST_TEST(refused.error().code == "too_many_requests");
  BOOST_TEST(hasher.Calls() == before);
}

BOOST_AUTO_TEST_CASE(failures_from_one_client_count_across_usernames) {
  policy.login_max_failures_per_ip = 3;
  for (const char* name : {"u1", "u2", "u3"}) {
    BOOST_TEST(Service().Login(name, "spray-pw-1", kIp).error().code == "invalid_credentials");
  }
  const int before = hasher.Calls();
  auto refused = Service().Login("u4", "spray-pw-1", kIp);
  BOOST_TEST(refused.error().code == "too_many_requests");
  BOOST_TEST(*refused.error().retry_after == 900);
  BOOST_TEST(hasher.Calls() == before);
  // Another client has its own allowance.
  BOOST_TEST(Service().Login("u4", "spray-pw-1", "10.0.0.2").error().code ==
             "invalid_credentials");
}

BOOST_AUTO_TEST_CASE(the_right_password_is_refused_while_the_client_is_over) {
  policy.login_max_failures_per_ip = 2;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), kIp).ok());
  Service().Login("ghost1", "nope nope", kIp);
  Service().Login("ghost2", "nope nope", kIp);
  const int before = hasher.Calls();
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).error().code ==
             "too_many_requests");
  BOOST_TEST(hasher.Calls() == before);
  BOOST_TEST(Service().Login("alice", "correct horse", "10.0.0.2").ok());
}

BOOST_AUTO_TEST_CASE(a_success_clears_only_its_username) {
  policy.login_max_failures = 5;
  policy.login_max_failures_per_ip = 4;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), kIp).ok());
  Service().Login("alice", "nope nope", kIp);  // client 1, alice 1
  Service().Login("bob", "nope nope", kIp);    // client 2, bob 1
  BOOST_TEST(Service().Login("alice", "correct horse", kIp).ok());
  const std::vector<WindowLimit> limits = {{"login", "alice", kLoginWindow, 5},
                                           {"login", "bob", kLoginWindow, 5},
                                           {"login_ip", kIp, kLoginWindow, 4}};
  auto usage = store.Usage(limits, clock.NowSeconds());
  BOOST_TEST(usage[0].count == 0);  // cleared
  BOOST_TEST(usage[1].count == 1);  // another username's: kept
  BOOST_TEST(usage[2].count == 2);  // the client's failures stay; the success is not one
  BOOST_TEST(Service().Login("carol", "nope nope", kIp).error().code == "invalid_credentials");
  BOOST_TEST(Service().Login("dave", "nope nope", kIp).error().code == "invalid_credentials");
  BOOST_TEST(Service().Login("erin", "nope nope", kIp).error().code == "too_many_requests");
}

BOOST_AUTO_TEST_CASE(client_failures_leave_the_window_after_15_minutes) {
  policy.login_max_failures_per_ip = 2;
  Service().Login("u1", "nope nope", kIp);
  clock.Advance(60);
  Service().Login("u2", "nope nope", kIp);
  clock.Advance(839);
  auto refused = Service().Login("u3", "nope nope", kIp);
  BOOST_TEST(refused.error().code == "too_many_requests");
  BOOST_TEST(*refused.error().retry_after == 1);
  clock.Advance(1);  // the first failure is 900 s old: out
  BOOST_TEST(Service().Login("u3", "nope nope", kIp).error().code == "invalid_credentials");
  BOOST_TEST(Service().Login("u4", "nope nope", kIp).error().code == "too_many_requests");
}

BOOST_AUTO_TEST_CASE(limits_switched_off_reserve_nothing) {
  policy.login_max_failures = 0;
  policy.login_max_failures_per_ip = 0;
  for (int i = 0; i < 3; ++i) Service().Login("ghost", "nope nope", kIp);
  BOOST_TEST(limits.reserve_calls == 0);
  BOOST_TEST(store.events.empty());
}

// Regression (issue 15): sign-up hashed the password before the per-IP check.
BOOST_AUTO_TEST_CASE(a_refused_sign_up_computes_no_hash) {
  policy.ip_max_signups_per_hour = 1;
  BOOST_TEST(ErrorCodeOf(Input("a1")) == "ok");
  const int before = hasher.hashes;
  BOOST_TEST(ErrorCodeOf(Input("a2")) == "too_many_requests");
  BOOST_TEST(hasher.hashes == before);
  BOOST_TEST(store.accounts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_sign_up_that_creates_nothing_gives_its_slot_back) {
  policy.ip_max_signups_per_hour = 2;
  BOOST_TEST(ErrorCodeOf(Input("a1")) == "ok");
  BOOST_TEST(ErrorCodeOf(Input("A1")) == "username_taken");
  BOOST_TEST(ErrorCodeOf(Input("a2")) == "ok");
  BOOST_TEST(ErrorCodeOf(Input("a3")) == "too_many_requests");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
