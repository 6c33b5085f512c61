// webhooks::NextAttempt: the backoff schedule of contract section 7 on fake time.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>

#include "util/random.h"
#include "webhooks/retry_schedule.h"

namespace phoneverify::webhooks {
namespace {

constexpr int64_t kCreated = 1'700'000'000;

BOOST_AUTO_TEST_SUITE(webhook_retry_schedule)

BOOST_AUTO_TEST_CASE(nominal_delay_starts_at_5s_doubles_and_stops_at_an_hour) {
  BOOST_TEST(NominalDelay(1) == 5);
  BOOST_TEST(NominalDelay(2) == 10);
  BOOST_TEST(NominalDelay(3) == 20);
  BOOST_TEST(NominalDelay(10) == 2560);
  BOOST_TEST(NominalDelay(11) == 3600);
  BOOST_TEST(NominalDelay(500) == 3600);
  BOOST_TEST(NominalDelay(0) == 5);
}

// Whatever the randomness says, the first retry comes within 5 s (and not at once).
BOOST_AUTO_TEST_CASE(the_first_retry_is_within_5_seconds) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    util::SeededRandom random(seed);
    const std::optional<int64_t> next = NextAttempt(1, kCreated, kCreated, random);
    BOOST_REQUIRE(next.has_value());
    BOOST_TEST(*next - kCreated >= 1, "seed " << seed);
    BOOST_TEST(*next - kCreated <= 5, "seed " << seed);
  }
}

// A whole life of an event whose endpoint always fails: each delay within [d/2, d] of
// its nominal, the nominal doubling up to 1 h, tries going on for at least 24 h after
// creation and then the drop; with jitter two runs differ.
BOOST_AUTO_TEST_CASE(an_event_that_always_fails_is_retried_for_24_hours_then_dropped) {
  const uint64_t seed = 20240613;
  BOOST_TEST_MESSAGE("seed " << seed);
  util::SeededRandom random(seed);
  int64_t now = kCreated;
  int tries = 1;
  int64_t last_delay = 0;
  while (true) {
    const std::optional<int64_t> next = NextAttempt(tries, kCreated, now, random);
    if (!next) break;
    const int64_t delay = *next - now;
    BOOST_TEST(delay <= NominalDelay(tries));
    BOOST_TEST(delay >= NominalDelay(tries) / 2);
    BOOST_TEST(delay <= 3600);
    if (tries > 1) BOOST_TEST(delay <= 2 * NominalDelay(tries - 1));
    last_delay = delay;
    now = *next;
    ++tries;
    BOOST_REQUIRE(tries < 200);
  }
  BOOST_TEST(now - kCreated >= 24 * 3600, "gave up after " << now - kCreated << " s");
  BOOST_TEST(now - kCreated < 24 * 3600 + 3600);
  BOOST_TEST(last_delay >= 1800);
  BOOST_TEST(tries > 24);  // ~10 doubling tries, then about hourly
  BOOST_TEST(tries < 60);
}

BOOST_AUTO_TEST_CASE(a_try_that_fails_just_before_24_hours_is_retried_once_more) {
  util::SeededRandom random(7);
  BOOST_TEST(NextAttempt(30, kCreated, kCreated + 24 * 3600 - 1, random).has_value());
  BOOST_TEST(!NextAttempt(30, kCreated, kCreated + 24 * 3600, random).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::webhooks
