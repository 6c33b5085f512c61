#include "domain/verification_service.h"

#include <boost/test/unit_test.hpp>

#include "fakes/memory_repositories.h"
#include "fakes/test_policy.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/text.h"

namespace phoneverify::domain {
namespace {

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{42};
  fakes::MemoryStore store;
  fakes::MemoryOtpRepository otps{store};
  OtpPolicy policy = fakes::TestOtpPolicy();
  Account alice;
  Account bob;

  Fixture() {
    alice = AddAccount("alice");
    bob = AddAccount("bob");
  }

  Account AddAccount(const std::string& name) {
    fakes::MemoryStore::AccountRow row;
    row.account.id = store.next_account_id++;
    row.account.username = name;
    row.username_key = name;
    store.accounts[row.account.id] = row;
    return row.account;
  }

  VerificationService Service() { return VerificationService(otps, policy, clock, random); }

  // Sends a code and reads it back from the sealed outbox text, like the SMS recipient.
  std::string SendAndReadCode(const Account& a, const std::string& phone) {
    auto sent = Service().SendCode(a, phone, "10.0.0.1", "req");
    BOOST_REQUIRE_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error().code));
    return fakes::LastSmsCode(store, policy);
  }

  std::string WrongCode(const std::string& code) {
    std::string wrong = code;
    wrong[0] = code[0] == '0' ? '1' : '0';
    return wrong;
  }
};

BOOST_FIXTURE_TEST_SUITE(verification_service, Fixture)

BOOST_AUTO_TEST_CASE(send_returns_the_receipt_and_queues_an_encrypted_message) {
  auto sent = Service().SendCode(alice, "+977-984-1234567", "10.0.0.1", "req-1");
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(sent.value().phone == "9841234567");
  BOOST_TEST(sent.value().operator_name == "NTC");
  BOOST_TEST(sent.value().expires_in == 300);
  BOOST_TEST(sent.value().resend_in == 60);
  BOOST_REQUIRE(sent.value().sends_left.has_value());
  BOOST_TEST(*sent.value().sends_left == 4);  // per-phone 5 minus this one
  BOOST_REQUIRE_EQUAL(store.outbox.size(), 1u);
  const std::string& sealed = store.outbox[0].sealed_text;
  auto text = util::Open(policy.outbox_key, sealed);
  BOOST_REQUIRE(text.has_value());
  const std::string code = text->substr(text->find("code: ") + 6, 6);
  BOOST_TEST(sealed.find(code) == std::string::npos);
  const auto& record = store.codes.at({alice.id, "9841234567"});
  BOOST_TEST(record.code_hash.find(code) == std::string::npos);
  BOOST_TEST(record.code_hash.size() == 33u);  // a version byte and BLAKE2b-256
  BOOST_TEST(record.code_hash[0] == '\x02');
}

// A send by API token: the storage resolves the token (in the send's one round trip), and
// the account's daily cap counts under the account it resolved, whichever way it asks.
BOOST_AUTO_TEST_CASE(a_send_by_token_is_the_token_owners_and_an_unknown_token_sends_nothing) {
  policy.otp_resend_cooldown = 0;
  policy.account_max_sends_per_day = 3;
  store.tokens[util::Hash("alice-token")] = alice.id;
  const Caller by_token{0, util::Hash("alice-token")};
  auto phone = Service().ParseSendPhone("9841234567");
  BOOST_REQUIRE(phone.ok());
  auto sent = Service().SendCode(by_token, phone.value(), "10.0.0.1", "r", Language::kEnglish, "");
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(*sent.value().sends_left == 2);
  BOOST_TEST(store.codes.count({alice.id, "9841234567"}) == 1u);
  BOOST_TEST(store.outbox.back().account_id == alice.id);
  BOOST_TEST(Service().SendCode(alice, "9801234567", "10.0.0.1", "r").ok());  // by session
  auto last = Service().SendCode(by_token, Service().ParseSendPhone("9851234567").value(),
                                 "10.0.0.1", "r", Language::kEnglish, "");
  BOOST_REQUIRE(last.ok());
  BOOST_TEST(*last.value().sends_left == 0);
  BOOST_TEST(Service().SendCode(alice, "9861234567", "10.0.0.1", "r").error().code ==
             "send_limit_reached");

  const size_t queued = store.outbox.size();
  auto stranger = Service().SendCode(Caller{0, util::Hash("nobody")}, phone.value(), "10.0.0.1",
                                     "r", Language::kEnglish, "");
  BOOST_REQUIRE(!stranger.ok());
  BOOST_TEST(stranger.error().code == "not_authenticated");
  store.accounts[alice.id].account.is_active = false;
  auto inactive = Service().SendCode(by_token, phone.value(), "10.0.0.1", "r",
                                     Language::kEnglish, "");
  BOOST_REQUIRE(!inactive.ok());
  BOOST_TEST(inactive.error().code == "not_authenticated");
  BOOST_TEST(store.outbox.size() == queued);
}

// Codes made before the hash named only the phone (bound to "account:phone:code", 32
// bytes) still verify: an upgrade loses no pending code.
BOOST_AUTO_TEST_CASE(a_code_hashed_the_earlier_way_still_verifies) {
  SendAndReadCode(alice, "9841234567");
  OtpRecord& record = store.codes.at({alice.id, "9841234567"});
  record.code_hash = util::KeyedHash(policy.otp_hash_key,
                                     std::to_string(alice.id) + ":9841234567:246810");
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", "246811").error().code == "otp_invalid");
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", "246810").ok());
}

BOOST_AUTO_TEST_CASE(codes_have_the_configured_length_and_are_digits) {
  for (int length : {4, 6, 8, 10}) {
    policy.otp_length = length;
    policy.otp_resend_cooldown = 0;
    const std::string code = SendAndReadCode(alice, "9841234567");
    BOOST_TEST(code.size() == static_cast<size_t>(length));
    BOOST_TEST(code.find_first_not_of("0123456789") == std::string::npos);
    BOOST_TEST(Service().VerifyCode(alice, "9841234567", code).ok());
    alice.phone_verified = false;
    store.accounts[alice.id].account.phone_verified = false;
    store.accounts[alice.id].account.phone.reset();
  }
}

BOOST_AUTO_TEST_CASE(correct_code_verifies_once) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  auto ok = Service().VerifyCode(alice, "9841234567", code);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(store.accounts[alice.id].account.phone_verified);
  BOOST_TEST(*store.accounts[alice.id].account.phone == "9841234567");
  // Single use: the same code again fails (the phone is now verified for this account).
  Account refreshed = store.accounts[alice.id].account;
  auto again = Service().VerifyCode(refreshed, "9841234567", code);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().code == "phone_already_verified");
  // Even with a stale account object the consumed code is refused.
  auto stale = Service().VerifyCode(alice, "9841234567", code);
  BOOST_REQUIRE(!stale.ok());
  BOOST_TEST(stale.error().code == "phone_already_verified");
}

BOOST_AUTO_TEST_CASE(code_expires_after_ttl) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  clock.Advance(299);
  auto status = Service().CodeStatus(alice, "9841234567");
  BOOST_REQUIRE(status.ok());
  BOOST_TEST(status.value().state == "pending");
  BOOST_TEST(status.value().expires_in == 1);
  clock.Advance(1);
  auto late = Service().VerifyCode(alice, "9841234567", code);
  BOOST_REQUIRE(!late.ok());
  BOOST_TEST(late.error().code == "otp_expired");
  BOOST_TEST(static_cast<int>(late.error().kind) == static_cast<int>(util::ErrorKind::kGone));
  BOOST_TEST(Service().CodeStatus(alice, "9841234567").value().state == "expired");
  BOOST_TEST(Service().CodeStatus(alice, "9841234567").value().expires_in == 0);
}

BOOST_AUTO_TEST_CASE(wrong_guesses_count_down_then_lock) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  for (int left = 4; left >= 0; --left) {
    auto r = Service().VerifyCode(alice, "9841234567", WrongCode(code));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == "otp_invalid");
    BOOST_REQUIRE(r.error().attempts_left.has_value());
    BOOST_TEST(*r.error().attempts_left == left);
  }
  auto locked = Service().VerifyCode(alice, "9841234567", code);
  BOOST_REQUIRE(!locked.ok());
  BOOST_TEST(locked.error().code == "too_many_attempts");
  BOOST_REQUIRE(locked.error().retry_after.has_value());
  BOOST_TEST(*locked.error().retry_after == 60);
  BOOST_TEST(Service().CodeStatus(alice, "9841234567").value().state == "locked");
  // Locked is reported before expiry.
  clock.Advance(1000);
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code).error().code ==
             "too_many_attempts");
  // A new send gives a fresh code with fresh attempts.
  const std::string fresh = SendAndReadCode(alice, "9841234567");
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", fresh).ok());
}

BOOST_AUTO_TEST_CASE(a_guess_by_token_is_the_token_owners_and_an_unknown_token_spends_nothing) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  store.tokens[util::Hash("alice-token")] = alice.id;
  auto guess = Service().ParseGuess("9841234567", WrongCode(code));
  BOOST_REQUIRE(guess.ok());
  auto stranger = Service().VerifyCode(Caller{0, util::Hash("nobody")}, guess.value(), "k1");
  BOOST_REQUIRE(!stranger.ok());
  BOOST_TEST(stranger.error().code == "not_authenticated");
  BOOST_TEST(*Service().CodeStatus(alice, "9841234567").value().attempts_left == 5);

  auto wrong = Service().VerifyCode(Caller{0, util::Hash("alice-token")}, guess.value(), "k2");
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.error().code == "otp_invalid");
  BOOST_TEST(*Service().CodeStatus(alice, "9841234567").value().attempts_left == 4);
  // Bob's token cannot use Alice's code: the code is bound to the account.
  store.tokens[util::Hash("bob-token")] = bob.id;
  auto right = Service().ParseGuess("9841234567", code);
  BOOST_REQUIRE(right.ok());
  auto by_bob = Service().VerifyCode(Caller{0, util::Hash("bob-token")}, right.value(), "k3");
  BOOST_REQUIRE(!by_bob.ok());
  BOOST_TEST(by_bob.error().code == "otp_not_requested");
  BOOST_TEST(Service().VerifyCode(Caller{0, util::Hash("alice-token")}, right.value(), "k4").ok());
  // An account deactivated since its token was made: refused.
  store.accounts[alice.id].account.is_active = false;
  auto inactive = Service().VerifyCode(Caller{0, util::Hash("alice-token")}, right.value(), "k5");
  BOOST_REQUIRE(!inactive.ok());
  BOOST_TEST(inactive.error().code == "not_authenticated");
}

BOOST_AUTO_TEST_CASE(malformed_guesses_use_no_attempt) {
  SendAndReadCode(alice, "9841234567");
  for (const char* bad : {"12345", "1234567", "12a456", "      ", "１２３４５６"}) {
    auto r = Service().VerifyCode(alice, "9841234567", bad);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == "invalid_field");
    BOOST_TEST(r.error().field == "otp");
  }
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 0);
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", "").error().code == "missing_field");
}

// ० is U+0966: the Devanagari form of an ASCII digit string.
std::string InDevanagari(const std::string& ascii) {
  std::string out;
  for (char c : ascii) out += std::string("\xe0\xa5") + static_cast<char>(0xa6 + (c - '0'));
  return out;
}

BOOST_AUTO_TEST_CASE(devanagari_phone_and_code_send_and_verify) {
  auto sent = Service().SendCode(alice, "९८४१२३४५६७", "10.0.0.1", "req");
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(sent.value().phone == "9841234567");
  const std::string code = fakes::LastSmsCode(store, policy);
  BOOST_TEST(util::IsAsciiDigits(code));  // the SMS carries ASCII digits
  // A mixed-script wrong guess counts like any wrong guess.
  std::string wrong = InDevanagari(WrongCode(code).substr(0, 3)) + WrongCode(code).substr(3);
  auto r = Service().VerifyCode(alice, "98४१२३४५६७", wrong);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "otp_invalid");
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 1);
  BOOST_TEST(Service().VerifyCode(alice, "९८४१२३४५६७", InDevanagari(code)).ok());
  BOOST_TEST(*store.accounts[alice.id].account.phone == "9841234567");
}

BOOST_AUTO_TEST_CASE(other_scripts_digits_in_a_code_use_no_attempt) {
  SendAndReadCode(alice, "9841234567");
  for (const char* bad : {"٤٧٨٨٠٦", "۴۷۸۸۰۶", "৪৭৮৮০৬", "४७८८०", "४७८८०६७", "४७८८०a"}) {
    auto r = Service().VerifyCode(alice, "9841234567", bad);
    BOOST_TEST_INFO(bad);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == "invalid_field");
  }
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 0);
}

BOOST_AUTO_TEST_CASE(attempt_limit_zero_means_unlimited) {
  policy.otp_max_attempts = 0;
  const std::string code = SendAndReadCode(alice, "9841234567");
  for (int i = 0; i < 50; ++i) {
    auto r = Service().VerifyCode(alice, "9841234567", WrongCode(code));
    BOOST_TEST(r.error().code == "otp_invalid");
    BOOST_TEST(!r.error().attempts_left.has_value());
  }
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code).ok());
}

BOOST_AUTO_TEST_CASE(code_is_bound_to_account_and_phone) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  auto other_account = Service().VerifyCode(bob, "9841234567", code);
  BOOST_TEST(other_account.error().code == "otp_not_requested");
  policy.otp_resend_cooldown = 0;
  SendAndReadCode(alice, "9801234567");
  auto other_phone = Service().VerifyCode(alice, "9801234567", code);
  BOOST_TEST(!other_phone.ok());
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code).ok());
}

BOOST_AUTO_TEST_CASE(resend_replaces_the_earlier_code) {
  policy.otp_resend_cooldown = 0;
  const std::string first = SendAndReadCode(alice, "9841234567");
  std::string second = SendAndReadCode(alice, "9841234567");
  while (second == first) second = SendAndReadCode(alice, "9841234567");
  BOOST_TEST(store.outbox[0].state == "superseded");
  BOOST_TEST(store.outbox[0].sealed_text.empty());
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", first).error().code == "otp_invalid");
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", second).ok());
}

BOOST_AUTO_TEST_CASE(cooldown_applies_per_phone) {
  SendAndReadCode(alice, "9841234567");
  clock.Advance(59);
  auto too_soon = Service().SendCode(bob, "9841234567", "10.0.0.2", "r");
  BOOST_REQUIRE(!too_soon.ok());
  BOOST_TEST(too_soon.error().code == "resend_too_soon");
  BOOST_TEST(*too_soon.error().retry_after == 1);
  BOOST_TEST(Service().SendCode(alice, "9801234567", "10.0.0.1", "r").ok());
  clock.Advance(1);
  BOOST_TEST(Service().SendCode(alice, "9841234567", "10.0.0.1", "r").ok());
}

BOOST_AUTO_TEST_CASE(daily_phone_cap_uses_a_sliding_window) {
  policy.otp_resend_cooldown = 0;
  for (int i = 0; i < 5; ++i) {
    SendAndReadCode(alice, "9841234567");
    clock.Advance(3600);
  }
  auto capped = Service().SendCode(alice, "9841234567", "10.0.0.1", "r");
  BOOST_REQUIRE(!capped.ok());
  BOOST_TEST(capped.error().code == "send_limit_reached");
  // The first send happened 5 h ago: it leaves the window 19 h from now.
  BOOST_TEST(*capped.error().retry_after == 19 * 3600);
  clock.Advance(19 * 3600);
  BOOST_TEST(Service().SendCode(alice, "9841234567", "10.0.0.1", "r").ok());
}

BOOST_AUTO_TEST_CASE(account_cap_counts_all_phones) {
  policy.otp_resend_cooldown = 0;
  policy.account_max_sends_per_day = 3;
  SendAndReadCode(alice, "9841234567");
  SendAndReadCode(alice, "9801234567");
  auto last = Service().SendCode(alice, "9851234567", "10.0.0.1", "r");
  BOOST_REQUIRE(last.ok());
  BOOST_TEST(*last.value().sends_left == 0);
  auto capped = Service().SendCode(alice, "9861234567", "10.0.0.1", "r");
  BOOST_TEST(capped.error().code == "send_limit_reached");
}

BOOST_AUTO_TEST_CASE(ip_cap_and_budget) {
  policy.otp_resend_cooldown = 0;
  policy.ip_max_sends_per_hour = 2;
  BOOST_TEST(Service().SendCode(alice, "9841234567", "10.0.0.9", "r").ok());
  BOOST_TEST(Service().SendCode(bob, "9801234567", "10.0.0.9", "r").ok());
  BOOST_TEST(Service().SendCode(bob, "9811234567", "10.0.0.9", "r").error().code ==
             "send_limit_reached");
  policy.ip_max_sends_per_hour = 0;
  policy.sms_daily_budget = 2;
  auto broke = Service().SendCode(bob, "9811234567", "10.0.0.9", "r");
  BOOST_REQUIRE(!broke.ok());
  BOOST_TEST(broke.error().code == "sms_budget_exhausted");
  BOOST_TEST(static_cast<int>(broke.error().kind) ==
             static_cast<int>(util::ErrorKind::kUnavailable));
  BOOST_TEST(broke.error().retry_after.has_value());
}

BOOST_AUTO_TEST_CASE(sends_left_is_null_when_both_daily_limits_are_off) {
  policy.otp_max_sends_per_day = 0;
  policy.account_max_sends_per_day = 0;
  auto sent = Service().SendCode(alice, "9841234567", "10.0.0.1", "r");
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(!sent.value().sends_left.has_value());
}

BOOST_AUTO_TEST_CASE(refused_send_changes_nothing) {
  SendAndReadCode(alice, "9841234567");
  const auto before = store.codes.at({alice.id, "9841234567"}).code_hash;
  BOOST_TEST(!Service().SendCode(alice, "9841234567", "10.0.0.1", "r").ok());
  BOOST_TEST(store.outbox.size() == 1u);
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).code_hash == before);
}

BOOST_AUTO_TEST_CASE(verified_phone_is_forbidden_for_owner_and_taken_for_others) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  BOOST_REQUIRE(Service().VerifyCode(alice, "9841234567", code).ok());
  clock.Advance(3600);
  Account fresh_alice = store.accounts[alice.id].account;
  BOOST_TEST(Service().SendCode(fresh_alice, "9841234567", "1", "r").error().code ==
             "phone_already_verified");
  auto taken = Service().SendCode(bob, "9841234567", "1", "r");
  BOOST_TEST(taken.error().code == "phone_taken");
  BOOST_TEST(static_cast<int>(taken.error().kind) ==
             static_cast<int>(util::ErrorKind::kConflict));
}

// Enumeration: an account without a code of its own cannot tell a registered number from
// any other through verify-otp (contract section 4).
BOOST_AUTO_TEST_CASE(a_guess_without_a_code_of_ones_own_says_only_not_requested) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  BOOST_REQUIRE(Service().VerifyCode(alice, "9841234567", code).ok());
  auto registered = Service().VerifyCode(bob, "9841234567", "123456");
  auto unknown = Service().VerifyCode(bob, "9841234568", "123456");
  BOOST_TEST(registered.error().code == "otp_not_requested");
  BOOST_TEST(registered.error().code == unknown.error().code);
  BOOST_TEST(registered.error().details == unknown.error().details);
  BOOST_TEST(registered.error().field == unknown.error().field);
}

// Enumeration through send-otp: each 409 phone_taken counts toward the account's daily cap
// and the client's hourly cap (checked before it), never toward the phone's own limits.
BOOST_AUTO_TEST_CASE(phone_taken_refusals_count_toward_the_account_and_ip_caps_only) {
  policy.account_max_sends_per_day = 3;
  policy.ip_max_sends_per_hour = 0;
  policy.sms_daily_budget = 100;
  const std::string code = SendAndReadCode(alice, "9841234567");
  BOOST_REQUIRE(Service().VerifyCode(alice, "9841234567", code).ok());
  const int64_t alice_last_send = store.last_send.at("9841234567");
  clock.Advance(3600);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(Service().SendCode(bob, "9841234567", "10.0.0.9", "r").error().code ==
               "phone_taken");
  }
  auto capped = Service().SendCode(bob, "9841234567", "10.0.0.9", "r");
  BOOST_TEST(capped.error().code == "send_limit_reached");
  BOOST_TEST(capped.error().retry_after.has_value());
  // The cap is the account's: bob's next send anywhere is refused too.
  BOOST_TEST(Service().SendCode(bob, "9801234567", "10.0.0.9", "r").error().code ==
             "send_limit_reached");
  auto events = [this](const std::string& scope, const std::string& key) {
    return store.events[std::make_pair(scope, key)].size();
  };
  BOOST_TEST(events("account_day", std::to_string(bob.id)) == 3u);
  BOOST_TEST(store.last_send.at("9841234567") == alice_last_send);  // no cooldown started
  BOOST_TEST(events("phone_day", "9841234567") == 1u);  // alice's send only
  BOOST_TEST(events("budget_day", "") == 1u);
}

BOOST_AUTO_TEST_CASE(phone_taken_refusals_count_toward_the_client_address) {
  policy.account_max_sends_per_day = 0;
  policy.ip_max_sends_per_hour = 2;
  const std::string code = SendAndReadCode(alice, "9841234567");
  BOOST_REQUIRE(Service().VerifyCode(alice, "9841234567", code).ok());
  const std::string ip = "2001:db8:5::/64";
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST(Service().SendCode(bob, "9841234567", ip, "r").error().code == "phone_taken");
  }
  BOOST_TEST(Service().SendCode(bob, "9841234567", ip, "r").error().code ==
             "send_limit_reached");
  BOOST_TEST(Service().SendCode(bob, "9801234567", "10.1.1.1", "r").ok());  // another client
}

BOOST_AUTO_TEST_CASE(second_account_cannot_verify_a_phone_taken_meanwhile) {
  const std::string a = SendAndReadCode(alice, "9841234567");
  clock.Advance(60);
  const std::string b = SendAndReadCode(bob, "9841234567");
  BOOST_REQUIRE(Service().VerifyCode(alice, "9841234567", a).ok());
  BOOST_TEST(Service().VerifyCode(bob, "9841234567", b).error().code == "phone_taken");
}

BOOST_AUTO_TEST_CASE(status_reports_delivery_and_counters) {
  SendAndReadCode(alice, "9841234567");
  clock.Advance(10);
  auto status = Service().CodeStatus(alice, "984 123 4567");
  BOOST_REQUIRE(status.ok());
  BOOST_TEST(status.value().phone == "9841234567");
  BOOST_TEST(status.value().delivery == "queued");
  BOOST_TEST(!status.value().delivery_error.has_value());
  BOOST_TEST(status.value().expires_in == 290);
  BOOST_TEST(status.value().resend_in == 50);
  BOOST_TEST(*status.value().attempts_left == 5);
  BOOST_TEST(*status.value().sends_left == 4);
  store.outbox.back().state = "failed";
  store.outbox.back().last_error = "sparrow 1007: Invalid Receiver";
  status = Service().CodeStatus(alice, "9841234567");
  BOOST_TEST(status.value().delivery == "failed");
  BOOST_TEST(*status.value().delivery_error ==
             "The SMS could not be delivered. Check the number, or ask for a new code later.");
  store.outbox.back().state = "retry";
  store.outbox.back().last_error = "sparrow 1002: Invalid Token";
  status = Service().CodeStatus(alice, "9841234567");
  BOOST_TEST(status.value().delivery == "queued");
  BOOST_TEST(*status.value().delivery_error ==
             "The SMS could not be sent yet; it will be tried again shortly.");
  BOOST_TEST(Service().CodeStatus(bob, "9841234567").error().code == "otp_not_requested");
  BOOST_TEST(Service().CodeStatus(alice, "12345").error().code == "invalid_phone");
}

BOOST_AUTO_TEST_CASE(storage_failure_surfaces_as_unavailable) {
  store.fail_next = true;
  auto r = Service().SendCode(alice, "9841234567", "10.0.0.1", "r");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "unavailable");
  BOOST_TEST(store.outbox.empty());
}

BOOST_AUTO_TEST_CASE(sends_to_one_number_block_are_capped_per_hour) {
  policy.prefix_max_sends_per_hour = 2;
  policy.prefix_digits = 6;
  BOOST_TEST(Service().SendCode(alice, "9841230001", "10.0.0.1", "r").ok());
  BOOST_TEST(Service().SendCode(bob, "9841230002", "10.0.0.2", "r").ok());
  auto third = Service().SendCode(alice, "9841239999", "10.0.0.3", "r");
  BOOST_REQUIRE(!third.ok());
  BOOST_TEST(third.error().code == "send_limit_reached");
  BOOST_TEST(*third.error().retry_after == 3600);
  BOOST_TEST(Service().SendCode(alice, "9841240001", "10.0.0.1", "r").ok());  // next block
  clock.Advance(3600);
  BOOST_TEST(Service().SendCode(alice, "9841239999", "10.0.0.3", "r").ok());
  policy.prefix_max_sends_per_hour = 0;  // off
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(Service().SendCode(bob, "984123100" + std::to_string(i), "10.0.0.4", "r").ok());
  }
}

BOOST_AUTO_TEST_CASE(a_send_repeated_with_its_idempotency_key_is_answered_not_redone) {
  auto first = Service().SendCode(alice, "9841234567", "10.0.0.1", "r1", Language::kEnglish, "key-1");
  BOOST_REQUIRE(first.ok());
  clock.Advance(5);  // inside the cooldown
  auto again = Service().SendCode(alice, "9841234567", "10.0.0.1", "r2", Language::kEnglish, "key-1");
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(store.outbox.size() == 1u);
  BOOST_TEST(*again.value().sends_left == *first.value().sends_left);
  const auto events = store.events[std::make_pair(std::string("phone_day"), std::string("9841234567"))];
  BOOST_TEST(events.size() == 1u);
  // Another key is another send; the same key on another phone is, too.
  BOOST_TEST(Service().SendCode(alice, "9841234567", "10.0.0.1", "r3", Language::kEnglish, "key-2").error().code ==
             "resend_too_soon");
  BOOST_TEST(Service().SendCode(alice, "9851234567", "10.0.0.1", "r4", Language::kEnglish, "key-1").ok());
  BOOST_TEST(store.outbox.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_guess_repeated_with_its_idempotency_key_uses_one_attempt) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  for (int i = 0; i < 3; ++i) {
    auto wrong = Service().VerifyCode(alice, "9841234567", WrongCode(code), "g-1");
    BOOST_REQUIRE(!wrong.ok());
    BOOST_TEST(wrong.error().code == "otp_invalid");
    BOOST_TEST(*wrong.error().attempts_left == 4);
  }
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 1);
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code, "g-2").ok());
  alice.phone = "9841234567";  // as the next request would load the account
  alice.phone_verified = true;
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code, "g-2").ok());
  BOOST_TEST(Service().VerifyCode(alice, "9841234567", code, "g-3").error().code ==
             "phone_already_verified");
}

BOOST_AUTO_TEST_CASE(a_guess_repeated_after_other_guesses_and_a_resend_uses_no_second_attempt) {
  const std::string code = SendAndReadCode(alice, "9841234567");
  BOOST_TEST(*Service().VerifyCode(alice, "9841234567", WrongCode(code), "g-1").error().attempts_left == 4);
  BOOST_TEST(*Service().VerifyCode(alice, "9841234567", WrongCode(code), "g-2").error().attempts_left == 3);
  auto again = Service().VerifyCode(alice, "9841234567", WrongCode(code), "g-1");
  BOOST_TEST(again.error().code == "otp_invalid");
  BOOST_TEST(*again.error().attempts_left == 3);  // what is left now
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 2);
  clock.Advance(policy.otp_resend_cooldown);
  const std::string fresh = SendAndReadCode(alice, "9841234567");
  auto after_resend = Service().VerifyCode(alice, "9841234567", WrongCode(fresh), "g-2");
  BOOST_TEST(after_resend.error().code == "otp_invalid");
  BOOST_TEST(*after_resend.error().attempts_left == 5);
  BOOST_TEST(store.codes.at({alice.id, "9841234567"}).attempts_used == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
