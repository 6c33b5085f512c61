// CurlMultiTransport with real libcurl against the fake gateway on loopback: a call's
// timeout is judged after what arrived is read, so a thread that comes back late (the
// dispatcher waited on its database) still sees an answer that came in time.
#include "sms/curl_multi_transport.h"

#include <curl/curl.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "fakes/fake_sparrow.h"
#include "sms/curl_global.h"

namespace phoneverify::sms {
namespace {

using fakes::FakeSparrow;

HttpCall CallTo(const std::string& url, int timeout_seconds) {
  HttpCall call;
  call.url = url;
  call.headers = {"Content-Type: application/x-www-form-urlencoded"};
  call.body = "token=t&from=f&to=9841234567&text=hello";
  call.timeout_seconds = timeout_seconds;
  return call;
}

// Waits in short steps until the call finishes (at most `limit`); empty if it did not.
std::vector<Transport::Finished> WaitForEnd(Transport& transport, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  std::vector<Transport::Finished> finished;
  while (finished.empty() && std::chrono::steady_clock::now() < until) {
    finished = transport.Wait(100);
  }
  return finished;
}

struct Fixture {
  CurlGlobal curl;
  FakeSparrow sparrow;
  CurlMultiTransport transport;
  Fixture() {
    BOOST_REQUIRE(curl.ok());
    BOOST_REQUIRE_MESSAGE(sparrow.ok(), sparrow.error());
    BOOST_REQUIRE(transport.ok());
  }
};

BOOST_FIXTURE_TEST_SUITE(curl_multi_transport, Fixture)

BOOST_AUTO_TEST_CASE(an_answer_that_arrived_while_the_thread_was_away_is_not_a_timeout) {
  sparrow.SetMode(FakeSparrow::Delay(100));
  transport.Start(7, CallTo(sparrow.Url(), 1));
  // Drive the call until the gateway has the request; then stay away longer than the
  // call's timeout, as a dispatcher stuck in a slow database call does.
  for (int i = 0; i < 100 && sparrow.RequestCount() == 0; ++i) {
    BOOST_REQUIRE(transport.Wait(10).empty());
  }
  BOOST_REQUIRE_EQUAL(sparrow.RequestCount(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  const auto finished = transport.Wait(0);
  BOOST_REQUIRE_EQUAL(finished.size(), 1u);
  BOOST_TEST(finished[0].tag == 7u);
  BOOST_TEST(finished[0].answer.curl_code == static_cast<int>(CURLE_OK));
  BOOST_TEST(finished[0].answer.status == 200);
  BOOST_TEST(transport.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(no_answer_within_the_timeout_ends_the_call_as_a_timeout) {
  sparrow.SetMode(FakeSparrow::Delay(10'000));
  transport.Start(8, CallTo(sparrow.Url(), 1));
  const auto finished = WaitForEnd(transport, std::chrono::seconds(8));
  BOOST_REQUIRE_EQUAL(finished.size(), 1u);
  BOOST_TEST(finished[0].tag == 8u);
  BOOST_TEST(finished[0].answer.curl_code == static_cast<int>(CURLE_OPERATION_TIMEDOUT));
  BOOST_TEST(transport.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(a_call_not_sent_by_its_deadline_is_never_sent) {
  transport.Start(9, CallTo(sparrow.Url(), 1));
  // Away before the call even connected, past its deadline.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const auto finished = transport.Wait(0);
  BOOST_REQUIRE_EQUAL(finished.size(), 1u);
  BOOST_TEST(finished[0].answer.curl_code == static_cast<int>(CURLE_OPERATION_TIMEDOUT));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(sparrow.RequestCount() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
