#include "domain/account_service.h"

#include <boost/test/unit_test.hpp>

#include "fakes/memory_repositories.h"
#include "util/config.h"
#include "util/crypto.h"

namespace phoneverify::domain {
namespace {

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{7};
  fakes::MemoryStore store;
  fakes::MemoryAccountRepository accounts{store};
  fakes::MemoryLimitRepository limits{store};
  OtpPolicy policy;

  Fixture() {
    BOOST_REQUIRE(util::InitCrypto());
    policy.allowed_prefixes = util::Config().allowed_prefixes;
  }
  AccountService Service() { return AccountService(accounts, limits, policy, clock, random); }
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
  auto token = Service().Login("ALICE", "correct horse");
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
  auto wrong = Service().Login("alice", "wrong password");
  auto unknown = Service().Login("nobody", "wrong password");
  BOOST_TEST(wrong.error().code == "invalid_credentials");
  BOOST_TEST(unknown.error().code == "invalid_credentials");
  BOOST_TEST(wrong.error().details == unknown.error().details);
}

BOOST_AUTO_TEST_CASE(login_failures_throttle_even_the_right_password) {
  policy.login_max_failures = 3;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  for (int i = 0; i < 3; ++i) BOOST_TEST(Service().Login("Alice", "nope nope").error().code == "invalid_credentials");
  auto blocked = Service().Login("alice", "correct horse");
  BOOST_TEST(blocked.error().code == "too_many_requests");
  BOOST_TEST(*blocked.error().retry_after == 900);
  clock.Advance(900);
  BOOST_TEST(Service().Login("alice", "correct horse").ok());
}

BOOST_AUTO_TEST_CASE(success_clears_the_failure_count) {
  policy.login_max_failures = 3;
  BOOST_REQUIRE(Service().SignUp(Input("alice"), "1").ok());
  Service().Login("alice", "nope nope");
  Service().Login("alice", "nope nope");
  BOOST_TEST(Service().Login("alice", "correct horse").ok());
  Service().Login("alice", "nope nope");
  Service().Login("alice", "nope nope");
  BOOST_TEST(Service().Login("alice", "correct horse").ok());
}

BOOST_AUTO_TEST_CASE(unknown_usernames_are_throttled_too) {
  policy.login_max_failures = 2;
  Service().Login("ghost", "x");
  Service().Login("GHOST", "x");
  BOOST_TEST(Service().Login("ghost", "x").error().code == "too_many_requests");
}

BOOST_AUTO_TEST_CASE(inactive_accounts_cannot_log_in) {
  auto created = Service().SignUp(Input("alice"), "1");
  BOOST_REQUIRE(created.ok());
  store.accounts[created.value().id].account.is_active = false;
  BOOST_TEST(Service().Login("alice", "correct horse").error().code == "invalid_credentials");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
