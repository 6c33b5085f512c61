// webhooks::BuildCall and Judge: the Standard Webhooks request and what answers mean.
#include "webhooks/webhook_call.h"

#include <curl/curl.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "util/crypto.h"
#include "util/webhook_signature.h"

namespace phoneverify::webhooks {
namespace {

constexpr const char* kSecret = "whsec_cGhvbmV2ZXJpZnktdGVzdC1icmlkZ2Uh";

struct Sodium {
  Sodium() { BOOST_REQUIRE(util::InitCrypto()); }
};

std::string Header(const sms::HttpCall& call, const std::string& name) {
  for (const std::string& header : call.headers) {
    if (header.rfind(name + ": ", 0) == 0) return header.substr(name.size() + 2);
  }
  return "<absent>";
}

domain::WebhookEvent Event() {
  domain::WebhookEvent event;
  event.event_id = "evt_0123456789abcdef";
  event.url = "https://example.test/hook";
  event.body = R"({"type":"verification.approved","data":{"phone":"9841234567"}})";
  return event;
}

BOOST_FIXTURE_TEST_SUITE(webhook_call, Sodium)

BOOST_AUTO_TEST_CASE(the_call_carries_the_body_and_standard_webhooks_headers) {
  const auto key = util::ParseWebhookSecret(kSecret);
  BOOST_REQUIRE(key.has_value());
  const domain::WebhookEvent event = Event();
  const sms::HttpCall call = BuildCall(event, *key, 1'700'000'123);
  BOOST_TEST(call.url == event.url);
  BOOST_TEST(call.body == event.body);
  BOOST_TEST(call.timeout_seconds == 10);
  BOOST_TEST(Header(call, "content-type") == "application/json");
  BOOST_TEST(Header(call, "webhook-id") == event.event_id);
  BOOST_TEST(Header(call, "webhook-timestamp") == "1700000123");
  BOOST_TEST(Header(call, "webhook-signature") ==
             util::WebhookSignature(*key, event.event_id, 1'700'000'123, event.body));
  // Another try: same id and body, its own timestamp and signature.
  const sms::HttpCall again = BuildCall(event, *key, 1'700'000'130);
  BOOST_TEST(Header(again, "webhook-id") == event.event_id);
  BOOST_TEST(again.body == call.body);
  BOOST_TEST(Header(again, "webhook-signature") != Header(call, "webhook-signature"));
}

BOOST_AUTO_TEST_CASE(the_signing_key_comes_from_the_sealed_secret) {
  const std::string outbox_key(32, 'k');
  const std::string sealed = util::Seal(outbox_key, kSecret);
  BOOST_TEST((SigningKey(outbox_key, sealed) == util::ParseWebhookSecret(kSecret)));
  BOOST_TEST(!SigningKey(std::string(32, 'x'), sealed).has_value());
  BOOST_TEST(!SigningKey(outbox_key, util::Seal(outbox_key, "not a secret")).has_value());
}

BOOST_AUTO_TEST_CASE(answers_are_judged_2xx_delivered_410_gone_else_retry) {
  using Kind = Verdict::Kind;
  BOOST_TEST((Judge({0, 200, ""}).kind == Kind::kDelivered));
  BOOST_TEST((Judge({0, 204, ""}).kind == Kind::kDelivered));
  BOOST_TEST((Judge({0, 410, ""}).kind == Kind::kGone));
  for (long status : {301L, 302L, 400L, 404L, 429L, 500L, 503L}) {
    const Verdict verdict = Judge({0, status, "secret echo"});
    BOOST_TEST((verdict.kind == Kind::kRetry), status);
    BOOST_TEST(verdict.detail == "http " + std::to_string(status));
  }
  const Verdict timeout = Judge({CURLE_OPERATION_TIMEDOUT, 0, ""});
  BOOST_TEST((timeout.kind == Kind::kRetry));
  BOOST_TEST(timeout.detail == "timeout");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::webhooks
