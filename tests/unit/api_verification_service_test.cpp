// ApiVerificationService (contract section 7) on a fake clock and an in-memory store: the
// status machine, the code rules, the limits and the events, without sleeping.
#include "domain/api_verification_service.h"

#include <boost/test/unit_test.hpp>

#include "fakes/memory_verification_store.h"
#include "fakes/test_policy.h"
#include "util/crypto.h"

namespace phoneverify::domain {

std::ostream& operator<<(std::ostream& out, VerificationStatus status) {
  return out << StatusName(status);
}

namespace {

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{7};
  fakes::MemoryVerificationStore store;
  OtpPolicy policy = fakes::TestOtpPolicy();
  ApiCaller shop{ApiClient{}, std::nullopt, "req"};
  ApiCaller other{ApiClient{}, std::nullopt, "req"};

  Fixture() {
    shop.client.id = 1;
    shop.client.webhook_url = "https://shop.example/hook";
    other.client.id = 2;
  }

  ApiVerificationService Service() { return ApiVerificationService(store, policy, clock, random); }

  StartInput Input(const std::string& phone) {
    StartInput input;
    input.phone = phone;
    input.ip_key = "10.0.0.1";
    return input;
  }

  Json::Value StartOk(const ApiCaller& caller, const std::string& phone) {
    auto started = Service().Start(caller, Input(phone));
    BOOST_REQUIRE(started.ok());
    BOOST_REQUIRE_MESSAGE(started.value().status.ok(), started.value().status.error().code);
    return started.value().object;
  }

  // The code in the newest SMS, as the recipient reads it.
  std::string LastCode() {
    BOOST_REQUIRE(!store.messages.empty());
    auto text = util::Open(policy.outbox_key, store.messages.back().sealed_text);
    BOOST_REQUIRE(text.has_value());
    // The first run of six digits (the lifetime comes after the code).
    const size_t at = text->find_first_of("0123456789");
    BOOST_REQUIRE(at != std::string::npos && at + 6 <= text->size());
    return text->substr(at, 6);
  }

  std::string ErrorCode(const util::Result<ApiAnswer>& answer) {
    if (!answer.ok()) return answer.error().code;
    return answer.value().status.ok() ? "" : answer.value().status.error().code;
  }

  std::string Wrong(const std::string& code) {
    std::string wrong = code;
    wrong[0] = code[0] == '0' ? '1' : '0';
    return wrong;
  }

  std::vector<std::string> EventTypes() {
    std::vector<std::string> types;
    for (const auto& e : store.events) types.push_back(e.type);
    return types;
  }
};

BOOST_FIXTURE_TEST_SUITE(api_verification_service, Fixture)

BOOST_AUTO_TEST_CASE(a_start_answers_the_pending_object_and_queues_the_code) {
  Json::Value v = StartOk(shop, "९८४१२३४५६७");
  BOOST_TEST(v["id"].asString().size() == 36u);
  BOOST_TEST(LooksLikeVerificationId(v["id"].asString()));
  BOOST_TEST(v["status"].asString() == "pending");
  BOOST_TEST(v["phone"].asString() == "9841234567");
  BOOST_TEST(v["expires_in"].asInt() == 300);
  BOOST_TEST(v["resend_in"].asInt() == policy.otp_resend_cooldown);
  BOOST_TEST(v["sends_left"].asInt() == policy.otp_max_sends_per_day - 1);
  BOOST_TEST(v["reference"].isNull());
  BOOST_TEST(store.messages.size() == 1u);
  BOOST_TEST(store.messages.back().expires_at == clock.NowSeconds() + 300);
  const auto& stored = store.verifications.at(v["id"].asString());
  BOOST_TEST(stored.code_hash.find(LastCode()) == std::string::npos);  // only a keyed hash
}

BOOST_AUTO_TEST_CASE(approval_is_once_and_emits_its_event) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  const std::string code = LastCode();
  auto approved = Service().Check(shop, id, code);
  BOOST_REQUIRE(approved.ok());
  BOOST_TEST(approved.value().object["status"].asString() == "approved");
  BOOST_TEST(ErrorCode(Service().Check(shop, id, code)) == "verification_not_pending");
  BOOST_TEST(EventTypes() == std::vector<std::string>{kEventApproved});
  BOOST_TEST(store.events[0].body.find("\"data\":{") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_guesses_count_down_to_max_attempts_reached) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  const std::string code = LastCode();
  for (int i = 1; i <= policy.otp_max_attempts; ++i) {
    auto wrong = Service().Check(shop, id, Wrong(code));
    BOOST_REQUIRE(wrong.ok());
    BOOST_TEST(wrong.value().status.error().code == "otp_invalid");
    BOOST_TEST(*wrong.value().status.error().attempts_left == policy.otp_max_attempts - i);
  }
  BOOST_TEST(ErrorCode(Service().Check(shop, id, code)) == "too_many_attempts");
  BOOST_TEST(store.verifications.at(id).status == VerificationStatus::kMaxAttemptsReached);
  BOOST_TEST(EventTypes() == std::vector<std::string>{kEventMaxAttempts});
}

BOOST_AUTO_TEST_CASE(a_malformed_code_uses_no_attempt) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  BOOST_TEST(ErrorCode(Service().Check(shop, id, "12345")) == "invalid_field");
  BOOST_TEST(ErrorCode(Service().Check(shop, id, "12a456")) == "invalid_field");
  BOOST_TEST(ErrorCode(Service().Check(shop, id, "")) == "missing_field");
  BOOST_TEST(store.verifications.at(id).attempts_used == 0);
}

BOOST_AUTO_TEST_CASE(expiry_is_seen_at_once_and_a_late_code_is_gone) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  const std::string code = LastCode();
  clock.Advance(299);
  BOOST_TEST(Service().Get(shop.client, id).value()["status"].asString() == "pending");
  clock.Advance(1);
  auto read = Service().Get(shop.client, id);
  BOOST_TEST(read.value()["status"].asString() == "expired");
  BOOST_TEST(read.value()["expires_in"].asInt() == 0);
  BOOST_TEST(ErrorCode(Service().Check(shop, id, code)) == "otp_expired");
  BOOST_TEST(ErrorCode(Service().Resend(shop, id, "")) == "verification_not_pending");
}

BOOST_AUTO_TEST_CASE(resend_waits_for_the_cooldown_then_replaces_the_code) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  const std::string first = LastCode();
  auto soon = Service().Resend(shop, id, "");
  BOOST_TEST(ErrorCode(soon) == "resend_too_soon");
  BOOST_TEST(*soon.value().status.error().retry_after == policy.otp_resend_cooldown);
  clock.Advance(policy.otp_resend_cooldown);
  BOOST_TEST(Service().Check(shop, id, Wrong(first)).ok());  // one attempt used
  auto resent = Service().Resend(shop, id, "ne");
  BOOST_REQUIRE(resent.ok());
  BOOST_TEST(resent.value().object["lang"].asString() == "ne");
  BOOST_TEST(resent.value().object["attempts_left"].asInt() == policy.otp_max_attempts);
  BOOST_TEST(resent.value().object["expires_in"].asInt() == 300);
  const std::string second = LastCode();
  if (second != first) BOOST_TEST(ErrorCode(Service().Check(shop, id, first)) == "otp_invalid");
  BOOST_TEST(Service().Check(shop, id, second).value().object["status"].asString() == "approved");
}

BOOST_AUTO_TEST_CASE(cancel_and_a_new_start_end_a_pending_verification) {
  const std::string first = StartOk(shop, "9841234567")["id"].asString();
  clock.Advance(policy.otp_resend_cooldown);
  const std::string second = StartOk(shop, "9841234567")["id"].asString();
  BOOST_TEST(store.verifications.at(first).status == VerificationStatus::kCanceled);
  auto canceled = Service().Cancel(shop, second);
  BOOST_TEST(canceled.value().object["status"].asString() == "canceled");
  BOOST_TEST(ErrorCode(Service().Cancel(shop, second)) == "verification_not_pending");
  BOOST_TEST(EventTypes() == (std::vector<std::string>{kEventCanceled, kEventCanceled}));
}

BOOST_AUTO_TEST_CASE(another_clients_id_is_not_found_and_no_webhook_means_no_events) {
  const std::string id = StartOk(shop, "9841234567")["id"].asString();
  BOOST_TEST(Service().Get(other.client, id).error().code == "not_found");
  BOOST_TEST(ErrorCode(Service().Cancel(other, id)) == "not_found");
  BOOST_TEST(ErrorCode(Service().Check(other, "ver_x", "123456")) == "not_found");
  clock.Advance(policy.otp_resend_cooldown);
  const std::string theirs = StartOk(other, "9851234567")["id"].asString();
  BOOST_TEST(Service().Cancel(other, theirs).ok());
  BOOST_TEST(store.events.empty());
}

BOOST_AUTO_TEST_CASE(the_phone_limits_are_shared_and_the_client_cap_is_its_own) {
  shop.client.max_sends_per_day = 2;
  StartOk(shop, "9841234567");
  clock.Advance(policy.otp_resend_cooldown);
  BOOST_TEST(ErrorCode(Service().Start(other, Input("9841234567"))) == "");  // other client
  clock.Advance(policy.otp_resend_cooldown);
  BOOST_TEST(StartOk(shop, "9851234567")["sends_left"].asInt() == 0);  // shop's cap
  clock.Advance(policy.otp_resend_cooldown);
  BOOST_TEST(ErrorCode(Service().Start(shop, Input("9861234567"))) == "send_limit_reached");
  BOOST_TEST(ErrorCode(Service().Start(other, Input("9861234567"))) == "");
}

// client_ip: the end user's address, not the calling backend's, meets the per-IP limit.
BOOST_AUTO_TEST_CASE(the_per_ip_limit_counts_the_end_users_address) {
  policy.ip_max_sends_per_hour = 2;
  StartInput input = Input("9841234567");
  input.ip_key = "203.0.113.7";
  BOOST_TEST(ErrorCode(Service().Start(shop, input)) == "");
  input.phone = "9851234567";
  BOOST_TEST(ErrorCode(Service().Start(shop, input)) == "");
  input.phone = "9861234567";
  auto refused = Service().Start(shop, input);
  BOOST_TEST(ErrorCode(refused) == "send_limit_reached");
  BOOST_TEST(*refused.value().status.error().retry_after == kHour);
  input.ip_key = "203.0.113.8";  // another user of the same backend
  BOOST_TEST(ErrorCode(Service().Start(shop, input)) == "");
}

BOOST_AUTO_TEST_CASE(a_repeated_key_answers_the_first_time_again) {
  shop.idempotency_key = "order-1";
  Json::Value first = StartOk(shop, "9841234567");
  auto again = Service().Start(shop, Input("9841234567"));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again.value().replayed);
  BOOST_TEST(again.value().object["id"] == first["id"]);
  BOOST_TEST(store.messages.size() == 1u);
  // A refusal is not kept: the same key may succeed later.
  shop.idempotency_key = "order-2";
  BOOST_TEST(ErrorCode(Service().Start(shop, Input("9841234567"))) == "resend_too_soon");
  clock.Advance(policy.otp_resend_cooldown);
  BOOST_TEST(ErrorCode(Service().Start(shop, Input("9841234567"))) == "");
}

BOOST_AUTO_TEST_CASE(start_fields_are_checked) {
  StartInput input = Input("9841234567");
  input.lang = "fr";
  BOOST_TEST(Service().Start(shop, input).error().field == "lang");
  input = Input("9841234567");
  input.reference = std::string(65, 'x');
  input.has_reference = true;
  BOOST_TEST(Service().Start(shop, input).error().field == "reference");
  input = Input("9841234567");
  input.app_hash = "abc";
  BOOST_TEST(Service().Start(shop, input).error().field == "app_hash");
  BOOST_TEST(Service().Start(shop, Input("9771234567")).error().code == "invalid_phone");
  BOOST_TEST(store.messages.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
