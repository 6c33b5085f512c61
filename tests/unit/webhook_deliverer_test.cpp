// webhooks::WebhookDeliverer on fake time: the in-memory store (same rules as the MariaDB
// one), the fake transport with per-URL answers, seeded randomness. No sleeping, no
// network.
#include <curl/curl.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/fake_transport.h"
#include "fakes/memory_metrics.h"
#include "fakes/memory_webhook_events.h"
#include "util/crypto.h"
#include "util/webhook_signature.h"
#include "webhooks/deliverer.h"

namespace phoneverify::webhooks {
namespace {

using fakes::FakeTransport;
using fakes::MemoryWebhookEvents;

constexpr const char* kSecret = "whsec_cGhvbmV2ZXJpZnktdGVzdC1icmlkZ2Uh";
constexpr const char* kPhone = "9841234567";
constexpr int64_t kAlpha = 1;
constexpr int64_t kBeta = 2;
constexpr const char* kAlphaUrl = "https://alpha.test/hook";
constexpr const char* kBetaUrl = "https://beta.test/hook";

std::string TempLogPath() {
  char pattern[] = "/tmp/webhook_deliverer_test.XXXXXX";
  const int fd = ::mkstemp(pattern);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  return pattern;
}

std::string Body(const std::string& type) {
  return R"({"type":")" + type + R"(","data":{"phone":")" + kPhone + R"("}})";
}

std::string Header(const sms::HttpCall& call, const std::string& name) {
  for (const std::string& header : call.headers) {
    if (header.rfind(name + ": ", 0) == 0) return header.substr(name.size() + 2);
  }
  return "";
}

DelivererOptions Options(int max_in_flight, int max_per_client) {
  DelivererOptions options;
  options.outbox_key = std::string(32, 'k');
  options.max_in_flight = max_in_flight;
  options.max_per_client = max_per_client;
  return options;
}

struct Rig {
  explicit Rig(DelivererOptions options = Options(16, 4))
      : crypto_ok(util::InitCrypto()),
        transport(clock, 20),
        log_path(TempLogPath()),
        logger(log_path, "dispatcher"),
        deliverer(store, transport, clock, random, logger, options, &metrics) {
    BOOST_REQUIRE(crypto_ok);
    const std::string sealed = util::Seal(options.outbox_key, kSecret);
    store.AddClient(kAlpha, {"alpha", kAlphaUrl, sealed, 0, false});
    store.AddClient(kBeta, {"beta", kBetaUrl, sealed, 0, false});
  }
  ~Rig() { ::unlink(log_path.c_str()); }

  int64_t Now() const { return clock.NowSeconds(); }
  int64_t Add(int64_t client, int64_t verification, const std::string& type = "message.sent") {
    return store.AddEvent(client, verification, type, Body(type), Now());
  }
  std::string Log() const {
    std::ifstream in(log_path);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }
  // The webhook-ids of the calls made, in order.
  std::vector<std::string> Sent() const {
    std::vector<std::string> ids;
    for (const auto& call : transport.calls) ids.push_back(Header(call, "webhook-id"));
    return ids;
  }

  bool crypto_ok;
  fakes::MillisClock clock;
  FakeTransport transport;
  MemoryWebhookEvents store;
  fakes::MemoryMetricsStore metrics;
  util::SeededRandom random{42};
  std::string log_path;
  util::Logger logger;
  WebhookDeliverer deliverer;
};

bool SignatureVerifies(const sms::HttpCall& call) {
  const auto key = util::ParseWebhookSecret(kSecret);
  return key &&
         Header(call, "webhook-signature") ==
             util::WebhookSignature(*key, Header(call, "webhook-id"),
                                    std::stoll(Header(call, "webhook-timestamp")), call.body);
}

BOOST_AUTO_TEST_SUITE(webhook_deliverer)

BOOST_AUTO_TEST_CASE(an_event_is_posted_signed_and_marked_delivered) {
  Rig rig;
  const int64_t id = rig.Add(kAlpha, 7, "verification.approved");
  BOOST_TEST(rig.deliverer.RunOnce(100) == 1);
  BOOST_TEST(rig.store.row(id).state == "delivered");
  BOOST_REQUIRE(rig.transport.calls.size() == 1u);
  const sms::HttpCall& call = rig.transport.calls[0];
  BOOST_TEST(call.url == kAlphaUrl);
  BOOST_TEST(call.body == Body("verification.approved"));
  BOOST_TEST(Header(call, "content-type") == "application/json");
  BOOST_TEST(Header(call, "webhook-id") == "evt_" + std::to_string(id));
  BOOST_TEST(SignatureVerifies(call));
  BOOST_TEST(rig.deliverer.stats().delivered == 1);
  BOOST_TEST(rig.Log().find(kPhone) == std::string::npos);
  BOOST_TEST(rig.Log().find("whsec_") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_500_is_retried_within_5s_with_the_same_id_and_body_and_a_new_signature) {
  Rig rig;
  const int64_t id = rig.Add(kAlpha, 7);
  rig.transport.Push({0, 500, ""});
  rig.deliverer.RunOnce(100);
  const auto& row = rig.store.row(id);
  BOOST_TEST(row.state == "pending");
  BOOST_TEST(row.last_error == "http 500");
  BOOST_TEST(row.next_attempt_at > rig.Now());
  BOOST_TEST(row.next_attempt_at <= rig.Now() + 5);
  rig.clock.AdvanceMs(1000);
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.transport.calls.size() == 1u);  // not due yet
  rig.clock.AdvanceMs((row.next_attempt_at - rig.Now()) * 1000);
  rig.deliverer.RunOnce(100);
  BOOST_REQUIRE(rig.transport.calls.size() == 2u);
  BOOST_TEST(rig.store.row(id).state == "delivered");
  const auto& first = rig.transport.calls[0];
  const auto& second = rig.transport.calls[1];
  BOOST_TEST(Header(second, "webhook-id") == Header(first, "webhook-id"));
  BOOST_TEST(second.body == first.body);
  BOOST_TEST(Header(second, "webhook-timestamp") != Header(first, "webhook-timestamp"));
  BOOST_TEST(Header(second, "webhook-signature") != Header(first, "webhook-signature"));
  BOOST_TEST(SignatureVerifies(first));
  BOOST_TEST(SignatureVerifies(second));
}

// The second event of a verification waits for the first (retried) one; another
// verification's event does not.
BOOST_AUTO_TEST_CASE(events_of_one_verification_go_in_order_while_the_first_is_retried) {
  Rig rig;
  const int64_t first = rig.Add(kAlpha, 7, "message.sent");
  const int64_t second = rig.Add(kAlpha, 7, "verification.approved");
  const int64_t other = rig.Add(kAlpha, 8, "message.sent");
  rig.transport.Push({0, 503, ""});  // the first call made: `first`'s
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.row(other).state == "delivered");
  BOOST_TEST(rig.store.row(first).state == "pending");
  BOOST_TEST(rig.store.row(second).state == "pending");
  // Held back to the first one's retry: not even listed as due before then.
  BOOST_TEST(rig.store.row(second).next_attempt_at == rig.store.row(first).next_attempt_at);
  for (int i = 0; i < 12; ++i) {
    rig.clock.AdvanceMs(1000);
    rig.deliverer.RunOnce(100);
  }
  BOOST_TEST(rig.store.row(first).state == "delivered");
  BOOST_TEST(rig.store.row(second).state == "delivered");
  const std::vector<std::string> expected = {
      "evt_" + std::to_string(first), "evt_" + std::to_string(other),
      "evt_" + std::to_string(first), "evt_" + std::to_string(second)};
  BOOST_TEST(rig.Sent() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_410_disables_the_clients_webhook_and_drops_its_pending_events) {
  Rig rig;
  rig.transport.routes[kAlphaUrl] = {20, {0, 410, ""}};
  const int64_t gone = rig.Add(kAlpha, 1);
  const int64_t later = rig.store.AddEvent(kAlpha, 2, "message.sent", Body("x"), rig.Now() + 60);
  const int64_t beta = rig.Add(kBeta, 3);
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.client(kAlpha).webhook_disabled_at == rig.Now());
  BOOST_TEST(rig.store.row(gone).state == "dropped");
  BOOST_TEST(rig.store.row(gone).last_error == "gone: http 410");
  BOOST_TEST(rig.store.row(later).state == "dropped");
  BOOST_TEST(rig.store.row(beta).state == "delivered");
  BOOST_TEST(rig.store.client(kBeta).webhook_disabled_at == 0);
  // Nothing more goes to alpha, even events written after the 410.
  rig.Add(kAlpha, 4);
  rig.clock.AdvanceMs(120'000);
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.transport.calls.size() == 2u);
  BOOST_TEST(rig.deliverer.stats().gone == 1);
  const std::string log = rig.Log();
  BOOST_TEST(log.find("410 Gone") != std::string::npos);
  BOOST_TEST(log.find("\"client\":\"alpha\"") != std::string::npos);
  BOOST_TEST(log.find(kPhone) == std::string::npos);
  BOOST_TEST(rig.metrics.Value("phoneverify_webhooks_total{outcome=\"gone\"}") == 1);
  BOOST_TEST(rig.metrics.Value("phoneverify_webhooks_total{outcome=\"delivered\"}") == 1);
  BOOST_TEST(rig.store.ClientState(kAlpha).value().pending == 0);
  BOOST_TEST(rig.store.ClientState(kAlpha).value().disabled_at > 0);
}

// An endpoint that hangs until the timeout holds at most max_per_client slots: the other
// client's events go out at once, also ones written while the calls hang.
BOOST_AUTO_TEST_CASE(a_hanging_endpoint_does_not_delay_another_clients_events) {
  Rig rig(Options(16, 4));
  rig.transport.routes[kAlphaUrl] = {10'000, {CURLE_OPERATION_TIMEDOUT, 0, ""}};
  for (int i = 0; i < 100; ++i) rig.Add(kAlpha, 1000 + i);
  const int64_t beta = rig.Add(kBeta, 1);
  const int64_t started_ms = rig.clock.MonotonicMillis();
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.row(beta).state == "delivered");
  BOOST_TEST(rig.deliverer.in_flight_for(kAlpha) == 4);
  const int64_t next = rig.Add(kBeta, 2);
  rig.deliverer.Wake();
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.row(next).state == "delivered");
  BOOST_TEST(rig.clock.MonotonicMillis() - started_ms < 1000);
  BOOST_TEST(rig.deliverer.in_flight_for(kAlpha) == 4);
  BOOST_TEST(rig.transport.most_in_flight <= 5u);
}

// Always failing: tried for at least 24 h after its creation, then dropped and logged.
BOOST_AUTO_TEST_CASE(an_event_that_always_fails_is_dropped_after_24_hours) {
  Rig rig;
  rig.transport.default_answer = {0, 500, ""};
  const int64_t id = rig.Add(kAlpha, 1);
  const int64_t created = rig.Now();
  int64_t last_try = created;
  for (int turn = 0; turn < 500 && rig.store.row(id).state != "dropped"; ++turn) {
    const size_t calls = rig.transport.calls.size();
    rig.deliverer.RunOnce(100);
    if (rig.transport.calls.size() > calls) last_try = rig.Now();
    const int64_t due = rig.store.row(id).next_attempt_at;
    if (due > rig.Now()) rig.clock.AdvanceMs((due - rig.Now()) * 1000);
  }
  BOOST_TEST(rig.store.row(id).state == "dropped");
  BOOST_TEST(rig.store.row(id).last_error == "gave up: http 500");
  BOOST_TEST(last_try - created >= 24 * 3600);
  BOOST_TEST(rig.transport.calls.size() > 24u);
  BOOST_TEST(rig.Log().find("webhook event dropped") != std::string::npos);
}

// A lost "delivered" mark (storage down) leaves the event leased; once the lease runs
// out it is sent again, with the same id (at least once).
BOOST_AUTO_TEST_CASE(a_failed_mark_means_the_event_goes_again_after_its_lease) {
  Rig rig;
  const int64_t id = rig.Add(kAlpha, 1);
  rig.deliverer.RunOnce(0);  // claimed and started, not answered yet
  rig.store.FailNext(1);
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.row(id).state == "sending");
  rig.clock.AdvanceMs(31'000);
  rig.deliverer.RunOnce(100);
  BOOST_TEST(rig.store.row(id).state == "delivered");
  BOOST_REQUIRE(rig.Sent().size() == 2u);
  BOOST_TEST(rig.Sent()[0] == rig.Sent()[1]);
  BOOST_TEST(rig.Log().find("webhook storage failed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_stop_releases_calls_that_outlast_the_grace) {
  Rig rig;
  rig.transport.routes[kAlphaUrl] = {10'000, {CURLE_OPERATION_TIMEDOUT, 0, ""}};
  const int64_t id = rig.Add(kAlpha, 1);
  rig.deliverer.RunOnce(0);
  BOOST_REQUIRE(rig.deliverer.in_flight() == 1u);
  std::atomic<bool> stop{true};
  rig.deliverer.Run(stop);
  BOOST_TEST(rig.deliverer.in_flight() == 0u);
  BOOST_TEST(rig.store.row(id).state == "pending");
  BOOST_TEST(rig.store.row(id).event.tries == 0);
  BOOST_TEST(rig.deliverer.stats().released == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::webhooks
