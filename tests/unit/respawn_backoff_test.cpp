// fcgi::RespawnBackoff on fake time: the master's answer to workers that die.
#include "fcgi/respawn_backoff.h"

#include <boost/test/unit_test.hpp>

namespace phoneverify::fcgi {
namespace {

BOOST_AUTO_TEST_SUITE(respawn_backoff)

BOOST_AUTO_TEST_CASE(a_worker_that_had_lived_is_replaced_at_once) {
  RespawnBackoff backoff;
  BOOST_TEST(backoff.OnDeath(RespawnBackoff::kQuickDeathMs, 5'000) == 0);
  BOOST_TEST(backoff.MaySpawn(5'000));
  BOOST_TEST(!backoff.Waiting());
}

BOOST_AUTO_TEST_CASE(deaths_at_start_up_double_the_wait_up_to_the_cap) {
  RespawnBackoff backoff;
  int64_t now = 10'000;
  int64_t expected = RespawnBackoff::kFirstBackoffMs;
  for (int death = 1; death <= 10; ++death) {
    BOOST_TEST_INFO("death " << death);
    const int64_t wait = backoff.OnDeath(10, now);
    BOOST_TEST(wait == expected);
    BOOST_TEST(!backoff.MaySpawn(now + wait - 1));
    BOOST_TEST(backoff.WaitMs(now) == wait);
    BOOST_TEST(backoff.MaySpawn(now + wait));
    now += wait;
    expected = std::min(expected * 2, RespawnBackoff::kMaxBackoffMs);
  }
  BOOST_TEST(expected == RespawnBackoff::kMaxBackoffMs);
  // One worker that lives clears the record: the next quick death starts over.
  BOOST_TEST(backoff.OnDeath(RespawnBackoff::kQuickDeathMs + 1, now) == 0);
  BOOST_TEST(backoff.OnDeath(10, now) == RespawnBackoff::kFirstBackoffMs);
}

BOOST_AUTO_TEST_CASE(a_failed_fork_and_a_reload) {
  RespawnBackoff backoff;
  backoff.OnForkFailure(1'000);
  BOOST_TEST(!backoff.MaySpawn(1'000));
  BOOST_TEST(backoff.MaySpawn(1'000 + RespawnBackoff::kFirstBackoffMs));
  backoff.OnDeath(1, 2'000);
  backoff.OnDeath(1, 2'000);
  backoff.Reset();  // a new generation
  BOOST_TEST(backoff.MaySpawn(2'000));
  BOOST_TEST(backoff.OnDeath(1, 2'000) == RespawnBackoff::kFirstBackoffMs);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::fcgi
