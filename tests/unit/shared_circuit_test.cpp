// sms::SharedCircuit: one backend's circuit breaker and credit pause, shared by the
// dispatcher's loop (passes, answers) and its supervising thread (the credit watch's
// EndPause). Fake time, no threads.
#include "sms/shared_circuit.h"

#include <boost/test/unit_test.hpp>

namespace phoneverify::sms {
namespace {

using State = CircuitBreaker::State;
using Change = SharedCircuit::Change;

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_circuit)

BOOST_AUTO_TEST_CASE(half_open_gives_one_probe_to_one_lane_and_an_unused_probe_back) {
  SharedCircuit circuit(1, 1000);
  const auto first = circuit.Admit(0, 10);
  BOOST_TEST(first.limit == 10);
  BOOST_TEST(circuit.OnTransientFailure(first, 0) == Change::kOpened);
  BOOST_TEST(circuit.Admit(999, 10).limit == 0);
  const auto probe = circuit.Admit(1000, 10);
  BOOST_TEST(probe.limit == 1);
  BOOST_TEST(probe.probe);
  BOOST_TEST(circuit.Admit(1000, 10).limit == 0);  // the probe is out: no other lane sends
  BOOST_TEST(!circuit.StillAllows(probe));         // a probe is one message only
  circuit.EndPass(probe);                          // nothing was due: the probe comes back
  const auto again = circuit.Admit(1001, 10);
  BOOST_TEST(again.probe);
  BOOST_TEST(circuit.OnSuccess(again) == Change::kClosed);
  BOOST_TEST(circuit.Admit(1002, 10).limit == 10);
}

BOOST_AUTO_TEST_CASE(answers_to_sends_admitted_before_an_opening_change_nothing) {
  SharedCircuit circuit(2, 1000);
  const auto early = circuit.Admit(0, 10);  // a lane mid-call while others fail
  const auto other = circuit.Admit(0, 10);
  circuit.OnTransientFailure(other, 0);
  BOOST_TEST(circuit.OnTransientFailure(other, 0) == Change::kOpened);
  BOOST_TEST(!circuit.StillAllows(early));
  BOOST_TEST(circuit.OnSuccess(early) == Change::kNone);  // a late success does not close it
  BOOST_TEST(circuit.state() == State::kOpen);
  BOOST_TEST(circuit.OnTransientFailure(early, 0) == Change::kNone);
  const int64_t until = circuit.snapshot().open_until_ms;
  BOOST_TEST(until == 1000);  // nor does a late failure open it again (or longer)
}

BOOST_AUTO_TEST_CASE(a_pause_heard_by_several_lanes_opens_once_and_a_late_success_keeps_it) {
  SharedCircuit circuit(5, 1000);
  const auto a = circuit.Admit(0, 10);
  const auto b = circuit.Admit(0, 10);
  BOOST_TEST(circuit.Pause(0, 60'000) == Change::kPaused);
  BOOST_TEST(circuit.Pause(5, 60'000) == Change::kNone);  // already paused: extended, no alert
  BOOST_TEST(circuit.paused());
  BOOST_TEST(circuit.OnSuccess(b) == Change::kNone);
  BOOST_TEST(circuit.paused());
  BOOST_TEST(!circuit.StillAllows(a));
  BOOST_TEST(circuit.Admit(60'004, 10).limit == 0);
  const auto probe = circuit.Admit(60'005, 10);
  BOOST_TEST(probe.probe);
  BOOST_TEST(circuit.OnSuccess(probe) == Change::kClosed);
  BOOST_TEST(!circuit.paused());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::sms
