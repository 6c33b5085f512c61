// Delivery on the real stack (contract section 6): many messages in flight at once
// against a slow gateway, Sparrow failing over to the signed http backend, and a
// dispatcher stopped or killed with messages in flight. The fake gateway records every
// request on both routes (POST /v2/sms/ and POST /http-sms/).
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "fault_helpers.h"
#include "stack.h"
#include "util/webhook_signature.h"

namespace phoneverify::itest {
namespace {

using namespace std::chrono_literals;
using fakes::FakeSparrow;

// whsec_ + base64 of 24 bytes "phoneverify-test-bridge!" (the tests' own bridge secret).
constexpr const char* kBridgeSecret = "whsec_cGhvbmV2ZXJpZnktdGVzdC1icmlkZ2Uh";

// Sends in bulk without any per-phone, per-account or per-IP limit in the way.
Overrides Unlimited() {
  return {{"otp_resend_cooldown", "0"},      {"otp_max_sends_per_day", "0"},
          {"account_max_sends_per_day", "0"}, {"ip_max_sends_per_hour", "0"},
          {"prefix_max_sends_per_hour", "0"}, {"sms_daily_budget", "0"}};
}

Overrides WithBridge(Overrides overrides) {
  overrides["sms_backend"] = "sparrow,http";
  overrides["sms_http_url"] = Stack::Get().Sparrow().HttpUrl();
  overrides["sms_http_secret"] = kBridgeSecret;
  return overrides;
}

struct GatewayResetOnExit {
  ~GatewayResetOnExit() { Stack::Get().Sparrow().SetMode(FakeSparrow::Ok()); }
};

Json::Value Phone(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

// Requests for `phone` on one route ("sparrow" or "http") with one reply ("" = any).
std::vector<fakes::SparrowRequest> RequestsFor(const std::string& phone, const std::string& kind,
                                               const std::string& reply = "") {
  std::vector<fakes::SparrowRequest> found;
  for (const auto& r : Stack::Get().Sparrow().Requests()) {
    if (r.to == phone && r.kind == kind && (reply.empty() || r.reply == reply)) found.push_back(r);
  }
  return found;
}

size_t OkRepliesFor(const std::string& phone) {
  return RequestsFor(phone, "sparrow", "ok").size() + RequestsFor(phone, "http", "ok").size();
}

// What the service says of the phone's code: GET /api/v1/phone/otp's "delivery".
std::string DeliveryOf(const HttpClient& client, const TestUser& user, const std::string& phone) {
  const auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  return status.status == 200 ? status.json["delivery"].asString() : "";
}

bool WaitSent(const HttpClient& client, const TestUser& user, const std::string& phone) {
  return WaitUntil([&] { return DeliveryOf(client, user, phone) == "sent"; }, 30s);
}

void SendOrFail(const HttpClient& client, const TestUser& user, const std::string& phone) {
  const auto sent = client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token);
  BOOST_REQUIRE_MESSAGE(sent.status == 202, "body: " << sent.body);
}

// Sends codes to `n` fresh phones while the gateway answers after `delay_ms`, and waits
// until at least half of them are at the gateway at once.
std::vector<std::string> SendIntoSlowGateway(const HttpClient& client, const TestUser& user, int n,
                                             const std::string& prefix, int delay_ms) {
  Stack::Get().Sparrow().SetMode(FakeSparrow::Delay(delay_ms));
  std::vector<std::string> phones;
  for (int i = 0; i < n; ++i) {
    phones.push_back(UniquePhone(prefix));
    SendOrFail(client, user, phones.back());
  }
  BOOST_REQUIRE(
      WaitUntil([&] { return Stack::Get().Sparrow().GetStats().in_flight >= n / 2; }, 10s));
  return phones;
}

// The first run of ASCII digits in a message text: the code.
std::string CodeIn(const std::string& text) {
  const size_t at = text.find_first_of("0123456789");
  return at == std::string::npos ? "" : text.substr(at, text.find_first_not_of("0123456789", at) - at);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(delivery)

// The lane dispatcher had at most 4 messages at the gateway; the event loop claims a burst
// and has all of it in flight at once.
BOOST_AUTO_TEST_CASE(a_slow_gateway_gets_a_burst_all_at_once) {
  constexpr int kMessages = 40;
  ScopedAppConfig config(Unlimited());
  GatewayResetOnExit reset;
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  Stack::Get().Sparrow().SetMode(FakeSparrow::Delay(1000));
  const pid_t dispatcher = StackPid("dispatcher");
  BOOST_REQUIRE(dispatcher > 0);
  std::vector<std::string> phones;
  {
    ContinueOnExit resume(dispatcher);
    BOOST_REQUIRE_EQUAL(::kill(dispatcher, SIGSTOP), 0);  // the burst queues up meanwhile
    for (int i = 0; i < kMessages; ++i) {
      phones.push_back(UniquePhone("986"));
      SendOrFail(client, user, phones.back());
    }
  }
  const bool all_at_once =
      WaitUntil([&] { return Stack::Get().Sparrow().GetStats().in_flight >= kMessages; }, 20s);
  const auto stats = Stack::Get().Sparrow().GetStats();
  BOOST_TEST(all_at_once, "in flight now " << stats.in_flight << ", at most " << stats.in_flight_max
                                           << ", requests " << stats.requests);
  for (const auto& phone : phones) {
    BOOST_TEST(WaitSent(client, user, phone), phone);
    BOOST_TEST(SmsCountFor(phone) == 1u, phone);
  }
}

// Sparrow out of credit: that backend pauses and the message goes to the http backend at
// once, signed as contract section 7 says; the code in it works. (The fake's credit
// endpoint then reports credit, which ends the pause: the unit tests show the messages
// in between going straight to the next backend.)
BOOST_AUTO_TEST_CASE(sparrow_out_of_credit_fails_over_to_the_signed_http_backend) {
  ScopedAppConfig config(WithBridge({}));
  GatewayResetOnExit reset;
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  Stack::Get().Sparrow().FailNext(1, FakeSparrow::Error403(1013));
  SendOrFail(client, user, phone);
  BOOST_REQUIRE(WaitUntil([&] { return !RequestsFor(phone, "http").empty(); }, 15s));
  BOOST_TEST(RequestsFor(phone, "sparrow", "error403").size() == 1u);
  const auto bridged = RequestsFor(phone, "http");
  BOOST_REQUIRE(bridged.size() == 1u);
  const fakes::SparrowRequest& sms = bridged[0];
  BOOST_TEST(sms.reply == "ok");
  BOOST_TEST(sms.id.rfind("msg_", 0) == 0u, sms.id);
  BOOST_TEST(sms.webhook_id == sms.id);
  const auto key = util::ParseWebhookSecret(kBridgeSecret);
  BOOST_REQUIRE(key.has_value());
  BOOST_TEST(sms.webhook_signature ==
             util::WebhookSignature(*key, sms.webhook_id, std::stoll(sms.webhook_timestamp),
                                    sms.body));
  Json::Value guess;
  guess["phone"] = phone;
  guess["otp"] = CodeIn(sms.text);
  const auto verified = client.PostJson("/api/v1/phone/verify-otp", guess, user.token);
  BOOST_TEST(verified.status == 200, "body: " << verified.body);
  BOOST_TEST(CountLogLines({"sms gateway out of credit", "\"gateway\":\"sparrow\""}) >= 1u);
}

// A 5xx concerns that try only: the message moves on to the next backend at once, and
// Sparrow keeps getting the messages after it.
BOOST_AUTO_TEST_CASE(a_sparrow_5xx_moves_that_message_to_the_http_backend) {
  ScopedAppConfig config(WithBridge({}));
  GatewayResetOnExit reset;
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("974");
  Stack::Get().Sparrow().FailNext(1, FakeSparrow::Http500());
  SendOrFail(client, user, phone);
  BOOST_TEST(WaitUntil([&] { return RequestsFor(phone, "http", "ok").size() == 1u; }, 15s));
  BOOST_TEST(RequestsFor(phone, "sparrow", "http500").size() == 1u);
  BOOST_TEST(OkRepliesFor(phone) == 1u);
  const std::string next = UniquePhone("975");
  SendOrFail(client, user, next);
  BOOST_TEST(WaitUntil([&] { return RequestsFor(next, "sparrow", "ok").size() == 1u; }, 15s));
  BOOST_TEST(RequestsFor(next, "http").empty());
}

// SIGTERM with messages in flight: the calls finish and their outcomes are written
// before the dispatcher exits; the next one sends nothing again.
BOOST_AUTO_TEST_CASE(a_stopped_dispatcher_finishes_its_calls_nothing_lost_nothing_twice) {
  constexpr int kMessages = 10;
  ScopedAppConfig config(Unlimited());
  GatewayResetOnExit reset;
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const auto phones = SendIntoSlowGateway(client, user, kMessages, "976", 1500);
  Stack::Get().RestartApp(Unlimited());  // SIGTERM, then a new dispatcher
  Stack::Get().Sparrow().SetMode(FakeSparrow::Ok());
  for (const auto& phone : phones) BOOST_TEST(WaitSent(client, user, phone), phone);
  std::this_thread::sleep_for(1s);  // time for a wrong second send to show
  for (const auto& phone : phones) BOOST_TEST(SmsCountFor(phone) == 1u, phone);
}

// SIGKILL with messages in flight: their answers die with the process, so their rows
// stay claimed until the lease (2 x sparrow_timeout + 5 s) runs out; then the next
// dispatcher sends them. Nothing is lost. Whether a call cut off by the kill went out is
// unknowable (Sparrow returns no message id), so those are sent again, once: after the
// kill every phone gets exactly one more request, and only the killed calls' phones have
// one from before.
BOOST_AUTO_TEST_CASE(a_killed_dispatcher_loses_nothing_and_sends_each_message_once_more_at_most) {
  constexpr int kMessages = 8;
  Overrides overrides = Unlimited();
  overrides["sparrow_timeout"] = "2";  // a lease of 9 s
  ScopedAppConfig config(overrides);
  GatewayResetOnExit reset;
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const auto phones = SendIntoSlowGateway(client, user, kMessages, "980", 1800);
  const pid_t dispatcher = StackPid("dispatcher");
  BOOST_REQUIRE(dispatcher > 0);
  BOOST_REQUIRE_EQUAL(::kill(dispatcher, SIGKILL), 0);
  BOOST_REQUIRE(WaitUntil([&] { return !ProcessAlive(dispatcher); }, 5s));
  // What the killed process had written to its sockets is still read by the fake.
  std::this_thread::sleep_for(500ms);
  std::map<std::string, size_t> before;
  for (const auto& phone : phones) before[phone] = SmsCountFor(phone);
  Stack::Get().Sparrow().SetMode(FakeSparrow::Ok());
  Stack::Get().RestartApp(overrides);
  for (const auto& phone : phones) {
    BOOST_TEST(WaitSent(client, user, phone), phone);
    BOOST_TEST(before[phone] <= 1u, phone);
    BOOST_TEST(SmsCountFor(phone) == before[phone] + 1, phone << " had " << before[phone]);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::itest
