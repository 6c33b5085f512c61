// util::Counters (shared across processes), the /metrics renderer and handler, App's
// request counting, and the dispatcher's figures.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <string>

#include "fakes/fake_gateway.h"
#include "fakes/memory_metrics.h"
#include "fakes/memory_outbox.h"
#include "handlers/metrics_handler.h"
#include "http/app.h"
#include "http/router.h"
#include "sms/dispatcher.h"
#include "util/clock.h"
#include "util/counters.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/shared_memory.h"

namespace phoneverify {
namespace {

std::map<std::string, uint64_t> AsMap(const util::Counters& counters) {
  std::map<std::string, uint64_t> out;
  for (const auto& [k, v] : counters.Snapshot()) out[k] = v;
  return out;
}

BOOST_AUTO_TEST_SUITE(shared_counters)

BOOST_AUTO_TEST_CASE(adds_up_per_key_and_drops_what_does_not_fit) {
  auto table = std::make_unique<util::CounterTable>();
  util::Counters counters(*table);
  counters.Add("a_total");
  counters.Add("a_total", 4);
  counters.Add("b_total{x=\"1\"}");
  counters.Add(std::string(util::kCounterKeyBytes, 'k'));
  counters.Add("");
  auto values = AsMap(counters);
  BOOST_TEST(values.size() == 2u);
  BOOST_TEST(values["a_total"] == 5u);
  BOOST_TEST(values["b_total{x=\"1\"}"] == 1u);
  BOOST_TEST(counters.dropped() == 2u);
  // A prefix of a key is another key.
  counters.Add("a_tota");
  BOOST_TEST(AsMap(counters)["a_tota"] == 1u);
  BOOST_TEST(AsMap(counters)["a_total"] == 5u);
}

BOOST_AUTO_TEST_CASE(a_full_table_drops_new_keys_only) {
  auto table = std::make_unique<util::CounterTable>();
  util::Counters counters(*table);
  for (size_t i = 0; i < util::kCounterSlots; ++i) counters.Add("k" + std::to_string(i));
  counters.Add("one_more");
  counters.Add("k7");
  BOOST_TEST(counters.dropped() == 1u);
  BOOST_TEST(AsMap(counters)["k7"] == 2u);
}

BOOST_AUTO_TEST_CASE(processes_sharing_the_table_lose_no_count) {
  auto memory = util::SharedMemory::Create(sizeof(util::CounterTable));
  BOOST_REQUIRE(memory.ok());
  util::CounterTable* table = memory.value().Construct<util::CounterTable>();
  BOOST_REQUIRE(table != nullptr);
  constexpr int kChildren = 4;
  constexpr int kAdds = 2000;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      util::Counters mine(*table);
      for (int i = 0; i < kAdds; ++i) {
        mine.Add("shared_total");
        mine.Add("key_" + std::to_string(i % 50));  // the same new keys, raced for
      }
      ::_exit(0);
    }
  }
  for (int c = 0; c < kChildren; ++c) {
    int status = 0;
    BOOST_REQUIRE(::wait(&status) > 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  util::Counters counters(*table);
  auto values = AsMap(counters);
  BOOST_TEST(values["shared_total"] == uint64_t{kChildren * kAdds});
  BOOST_TEST(values.size() == 51u);  // no key got two slots
  BOOST_TEST(values["key_7"] == uint64_t{kChildren * kAdds / 50});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics_endpoint)

BOOST_AUTO_TEST_CASE(render_groups_families_and_orders_histogram_buckets) {
  const std::string text = handlers::RenderPrometheus({
      {"phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"+Inf\"}", 3},
      {"phoneverify_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"}", 2},
      {"phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"10\"}", 3},
      {"phoneverify_sms_gateway_latency_seconds_sum{gateway=\"sparrow\"}", 0.25},
      {"phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"0.5\"}", 2},
      {"phoneverify_sms_gateway_latency_seconds_count{gateway=\"sparrow\"}", 3},
      {"phoneverify_http_requests_total{route=\"/b\",method=\"GET\",status=\"200\"}", 1},
  });
  const std::string expected =
      "# HELP phoneverify_http_requests_total HTTP requests by route pattern, method and "
      "status.\n"
      "# TYPE phoneverify_http_requests_total counter\n"
      "phoneverify_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2\n"
      "phoneverify_http_requests_total{route=\"/b\",method=\"GET\",status=\"200\"} 1\n"
      "# HELP phoneverify_sms_gateway_latency_seconds Duration of gateway calls.\n"
      "# TYPE phoneverify_sms_gateway_latency_seconds histogram\n"
      "phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"0.5\"} 2\n"
      "phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"10\"} 3\n"
      "phoneverify_sms_gateway_latency_seconds_bucket{gateway=\"sparrow\",le=\"+Inf\"} 3\n"
      "phoneverify_sms_gateway_latency_seconds_count{gateway=\"sparrow\"} 3\n"
      "phoneverify_sms_gateway_latency_seconds_sum{gateway=\"sparrow\"} 0.25\n";
  BOOST_TEST(text == expected);
}

BOOST_AUTO_TEST_CASE(otp_and_rate_limit_families_are_derived_from_http_counts) {
  std::vector<domain::MetricSample> samples = {
      {R"(phoneverify_http_requests_total{route="/api/v1/phone/send-otp",method="POST",status="202"})", 3},
      {R"(phoneverify_http_requests_total{route="/api/v1/phone/verify-otp",method="POST",status="200"})", 1},
      {R"(phoneverify_http_errors_total{route="/api/v1/phone/verify-otp",status="400",code="otp_invalid"})", 4},
      {R"(phoneverify_http_errors_total{route="/api/v1/phone/verify-otp",status="401",code="not_authenticated"})", 9},
      {R"(phoneverify_http_errors_total{route="/api/v1/phone/send-otp",status="429",code="resend_too_soon"})", 2},
      {R"(phoneverify_http_errors_total{route="/api/v1/phone/send-otp",status="503",code="sms_budget_exhausted"})", 1},
  };
  handlers::AddDerivedSamples(samples);
  std::map<std::string, double> values;
  for (const auto& s : samples) values[s.series] = s.value;
  BOOST_TEST(values["phoneverify_otp_sent_total"] == 3);
  BOOST_TEST(values["phoneverify_otp_verified_total"] == 1);
  BOOST_TEST(values[R"(phoneverify_otp_verify_failed_total{code="otp_invalid"})"] == 4);
  BOOST_TEST(values.count(R"(phoneverify_otp_verify_failed_total{code="not_authenticated"})") == 0u);
  BOOST_TEST(values[R"(phoneverify_rate_limited_total{route="/api/v1/phone/send-otp",code="resend_too_soon"})"] == 2);
  BOOST_TEST(values[R"(phoneverify_rate_limited_total{route="/api/v1/phone/send-otp",code="sms_budget_exhausted"})"] == 1);
}

BOOST_AUTO_TEST_CASE(served_to_loopback_only_and_survives_a_database_outage) {
  auto table = std::make_unique<util::CounterTable>();
  util::Counters counters(*table);
  counters.Add(R"(phoneverify_http_requests_total{route="/healthz",method="GET",status="200"})");
  fakes::MemoryMetricsStore store;
  store.Add({{"phoneverify_sms_expired_total", 2, false}}, 0);
  http::Request request;
  for (const char* peer : {"203.0.113.9", "10.0.0.1", "", "::ffff:192.0.2.1"}) {
    request.remote_addr = peer;
    auto refused = handlers::Metrics(&counters, &store, request);
    BOOST_REQUIRE(!refused.ok());
    BOOST_TEST(refused.error().code == "forbidden", peer);
  }
  for (const char* peer : {"127.0.0.1", "::1", "127.1.2.3", "::ffff:127.0.0.1"}) {
    request.remote_addr = peer;
    auto served = handlers::Metrics(&counters, &store, request);
    BOOST_REQUIRE(served.ok());
    BOOST_TEST(*served.value().FindHeader("Content-Type") == handlers::kPrometheusContentType);
    BOOST_TEST(served.value().body.find("phoneverify_sms_expired_total 2\n") != std::string::npos);
    BOOST_TEST(served.value().body.find("phoneverify_database_up 1\n") != std::string::npos);
  }
  store.FailNext(1);
  auto partial = handlers::Metrics(&counters, &store, request);
  BOOST_REQUIRE(partial.ok());
  BOOST_TEST(partial.value().body.find("phoneverify_database_up 0\n") != std::string::npos);
  BOOST_TEST(partial.value().body.find(R"(route="/healthz")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(app_counts_requests_and_errors_with_bounded_labels) {
  auto table = std::make_unique<util::CounterTable>();
  util::Counters counters(*table);
  http::Router router({{"GET", "/ok",
                        [](const http::Request&) -> util::Result<http::Response> {
                          return http::JsonResponse(200, Json::Value(Json::objectValue));
                        }}});
  http::ClientRules proxies;
  util::FakeClock clock;
  util::SeededRandom random(1);
  util::Logger logger("/dev/null", "test");
  http::App app(router, proxies, clock, random, logger, &counters);
  auto call = [&](const std::string& method, const std::string& path) {
    http::Request request;
    request.method = method;
    request.path = path;
    app.Handle(request);
  };
  call("GET", "/ok");
  call("GET", "/ok");
  call("BREW", "/ok");
  call("GET", "/nope");
  auto values = AsMap(counters);
  BOOST_TEST(values[R"(phoneverify_http_requests_total{route="/ok",method="GET",status="200"})"] == 2u);
  BOOST_TEST(values[R"(phoneverify_http_requests_total{route="unmatched",method="other",status="405"})"] == 1u);
  BOOST_TEST(values[R"(phoneverify_http_errors_total{route="unmatched",status="405",code="method_not_allowed"})"] == 1u);
  BOOST_TEST(values[R"(phoneverify_http_errors_total{route="unmatched",status="404",code="not_found"})"] == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dispatcher_metrics)

BOOST_AUTO_TEST_CASE(attempts_and_latency_are_flushed_every_few_seconds_and_kept_on_failure) {
  BOOST_REQUIRE(util::InitCrypto());
  util::FakeClock clock;
  util::SeededRandom random(7);
  fakes::MemoryOutbox outbox;
  fakes::FakeGateway gateway;
  fakes::MemoryMetricsStore store;
  util::Logger logger("/dev/null", "dispatcher");
  sms::DispatcherOptions options = sms::DispatcherOptionsFrom(util::Config());
  options.outbox_key = random.Bytes(util::kKeyBytes);
  options.breaker_failures = 0;
  const auto queue = [&] {
    outbox.Enqueue("9841234567", util::Seal(options.outbox_key, "code 123456"),
                   clock.NowSeconds(), clock.NowSeconds() + 300);
  };
  sms::Dispatcher dispatcher(outbox, gateway, clock, random, logger, options, &store);
  queue();
  queue();
  gateway.Push(fakes::FakeGateway::Transient("http 503", 503));
  BOOST_TEST(dispatcher.RunOnce() == 2);
  BOOST_TEST(store.flushes() == 0);  // not yet: every kMetricsFlushMillis
  clock.Advance(5);
  store.FailNext(1);
  dispatcher.RunOnce();  // the flush fails: the figures wait for the next one
  BOOST_TEST(store.flushes() == 0);
  clock.Advance(5);
  dispatcher.RunOnce();
  BOOST_TEST(store.flushes() == 1);
  BOOST_TEST(store.Value(R"(phoneverify_sms_attempts_total{gateway="fake",result="delivered",code="200"})") == 2);
  BOOST_TEST(store.Value(R"(phoneverify_sms_attempts_total{gateway="fake",result="transient",code="503"})") == 1);
  BOOST_TEST(store.Value(R"(phoneverify_sms_gateway_latency_seconds_count{gateway="fake"})") == 3);
  BOOST_TEST(store.Value(R"(phoneverify_sms_gateway_latency_seconds_bucket{gateway="fake",le="0.05"})") == 3);
  BOOST_TEST(store.Value(R"(phoneverify_sms_gateway_latency_seconds_bucket{gateway="fake",le="+Inf"})") == 3);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify
