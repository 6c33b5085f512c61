// sms::CreditWatch on fake time: while sending is paused for lack of credit, the gateway
// is asked every poll interval, and the pause ends as soon as it says credit is back.
#include "sms/credit_watch.h"

#include <boost/test/unit_test.hpp>

namespace phoneverify::sms {
namespace {

constexpr int64_t kPollMs = 60'000;
constexpr int64_t kPauseMs = 300'000;

struct Fixture {
  SharedCircuit circuit{5, 30'000};
  int asked = 0;
  bool credit = false;
  CreditWatch watch{circuit, [this] {
                      ++asked;
                      return credit;
                    },
                    kPollMs};
};

BOOST_FIXTURE_TEST_SUITE(credit_watch, Fixture)

BOOST_AUTO_TEST_CASE(nothing_is_asked_while_sending_is_not_paused) {
  for (int64_t t = 0; t < 10 * kPollMs; t += 1000) BOOST_TEST(!watch.Tick(t));
  BOOST_TEST(asked == 0);
  BOOST_TEST(watch.WaitMs(0) == kPollMs);
}

BOOST_AUTO_TEST_CASE(asked_once_per_interval_while_paused_and_resumed_when_credit_is_back) {
  circuit.Pause(1'000, kPauseMs);
  BOOST_TEST(!watch.Tick(1'000));  // seen at once: asked, still no credit
  BOOST_TEST(asked == 1);
  BOOST_TEST(!watch.Tick(1'000 + kPollMs - 1));
  BOOST_TEST(asked == 1);
  BOOST_TEST(watch.WaitMs(1'000 + kPollMs - 1) == 1);
  BOOST_TEST(circuit.Admit(1'000 + kPollMs - 1, 10).limit == 0);  // still paused
  credit = true;
  BOOST_TEST(watch.Tick(1'000 + kPollMs));  // the second question: credit is back
  BOOST_TEST(asked == 2);
  // Long before sms_credit_pause ran out, one lane gets the probe; its success closes.
  const SharedCircuit::Pass probe = circuit.Admit(1'000 + kPollMs, 10);
  BOOST_TEST(probe.limit == 1);
  BOOST_TEST(probe.probe);
  BOOST_TEST((circuit.OnSuccess(probe) == SharedCircuit::Change::kClosed));
  BOOST_TEST(!circuit.paused());
  BOOST_TEST(!watch.Tick(1'000 + 3 * kPollMs));
  BOOST_TEST(asked == 2);  // not paused any more: nothing asked
}

BOOST_AUTO_TEST_CASE(an_opening_by_failures_is_not_ended_by_credit) {
  credit = true;
  const SharedCircuit::Pass pass = circuit.Admit(0, 10);
  for (int i = 0; i < 5; ++i) circuit.OnTransientFailure(pass, 0);
  BOOST_TEST((circuit.state() == CircuitBreaker::State::kOpen));
  BOOST_TEST(!watch.Tick(kPollMs));
  BOOST_TEST(asked == 0);  // the gateway failing is no question of credit
  BOOST_TEST(!circuit.EndPause(kPollMs));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
