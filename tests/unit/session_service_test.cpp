// Sessions and CSRF tokens with a fake clock over the in-memory store: idle and absolute
// expiry, rotation on sign-in, hashed storage, the touch interval.
#include "domain/session_service.h"

#include <boost/test/unit_test.hpp>
#include <set>

#include "fakes/memory_repositories.h"
#include "util/crypto.h"

namespace phoneverify::domain {
namespace {

constexpr int64_t kIdle = 600;
constexpr int64_t kMaxAge = 3600;

struct Fixture {
  Fixture() {
    BOOST_REQUIRE(util::InitCrypto());
    domain::Account alice;
    alice.id = 7;
    alice.username = "alice";
    alice.phone_verified = true;
    store.accounts[7].account = alice;
  }
  util::FakeClock clock;
  util::SeededRandom random{42};
  fakes::MemoryStore store;
  fakes::MemorySessionRepository repo{store};
  SessionPolicy policy{kIdle, kMaxAge, std::string(32, 's')};
  SessionService sessions{repo, policy, clock, random};

  std::string StartFor(int64_t account_id, const std::string& previous = "") {
    auto started = sessions.Start(account_id, previous);
    BOOST_REQUIRE(started.ok());
    return started.value().id;
  }
  bool Alive(const std::string& id) {
    auto resumed = sessions.Resume(id);
    BOOST_REQUIRE(resumed.ok());
    return resumed.value().has_value();
  }
};

BOOST_FIXTURE_TEST_SUITE(session_service, Fixture)

BOOST_AUTO_TEST_CASE(a_started_session_resumes_to_its_account) {
  const std::string id = StartFor(7);
  BOOST_TEST(SessionService::IsWellFormedId(id));
  auto resumed = sessions.Resume(id);
  BOOST_REQUIRE(resumed.ok());
  BOOST_REQUIRE(resumed.value().has_value());
  BOOST_TEST(resumed.value()->username == "alice");
}

BOOST_AUTO_TEST_CASE(cookie_max_age_is_the_absolute_lifetime) {
  auto started = sessions.Start(7, "");
  BOOST_REQUIRE(started.ok());
  BOOST_TEST(started.value().max_age == kMaxAge);
}

BOOST_AUTO_TEST_CASE(only_a_hash_of_the_id_is_stored) {
  const std::string id = StartFor(7);
  BOOST_REQUIRE(store.sessions.size() == 1u);
  BOOST_TEST(store.sessions.count(id) == 0u);
  BOOST_TEST(store.sessions.count(util::Hash(id)) == 1u);
}

BOOST_AUTO_TEST_CASE(idle_expiry_ends_a_quiet_session_and_deletes_it) {
  const std::string id = StartFor(7);
  clock.Advance(kIdle - 1);
  BOOST_TEST(Alive(id));
  clock.Advance(kIdle);  // kIdle since the last use
  BOOST_TEST(!Alive(id));
  BOOST_TEST(store.sessions.empty());
}

BOOST_AUTO_TEST_CASE(activity_keeps_a_session_past_the_idle_timeout) {
  const std::string id = StartFor(7);
  for (int i = 0; i < 5; ++i) {
    clock.Advance(kIdle - 1);
    BOOST_TEST(Alive(id));
  }
  BOOST_TEST(clock.NowSeconds() - 1'700'000'000 > kIdle * 4);
}

BOOST_AUTO_TEST_CASE(absolute_expiry_ends_even_an_active_session) {
  const std::string id = StartFor(7);
  int64_t elapsed = 0;
  while (elapsed + kIdle / 2 < kMaxAge) {
    clock.Advance(kIdle / 2);
    elapsed += kIdle / 2;
    BOOST_TEST_REQUIRE(Alive(id));
  }
  clock.Advance(kMaxAge - elapsed);
  BOOST_TEST(!Alive(id));
}

BOOST_AUTO_TEST_CASE(sign_in_rotates_the_id_and_ends_the_previous_session) {
  const std::string first = StartFor(7);
  const std::string second = StartFor(7, first);
  BOOST_TEST(first != second);
  BOOST_TEST(!Alive(first));
  BOOST_TEST(Alive(second));
  BOOST_TEST(store.sessions.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_visitor_id_is_never_a_session) {
  const std::string visitor = sessions.NewVisitorId();
  BOOST_TEST(SessionService::IsWellFormedId(visitor));
  BOOST_TEST(!Alive(visitor));
  // Signing in from a visitor id gives a different id (an id planted before sign-in
  // is worth nothing after it).
  BOOST_TEST(StartFor(7, visitor) != visitor);
}

BOOST_AUTO_TEST_CASE(last_seen_is_written_at_most_once_per_touch_interval) {
  BOOST_TEST(sessions.TouchInterval() == 60);
  const std::string id = StartFor(7);
  const int64_t start = clock.NowSeconds();
  clock.Advance(59);
  BOOST_TEST(Alive(id));
  BOOST_TEST(store.sessions.begin()->second.last_seen_at == start);
  clock.Advance(1);
  BOOST_TEST(Alive(id));
  BOOST_TEST(store.sessions.begin()->second.last_seen_at == start + 60);
}

BOOST_AUTO_TEST_CASE(short_idle_timeouts_touch_on_every_request) {
  SessionPolicy short_policy{5, 100, std::string(32, 's')};
  SessionService quick(repo, short_policy, clock, random);
  BOOST_TEST(quick.TouchInterval() == 0);
  auto started = quick.Start(7, "");
  BOOST_REQUIRE(started.ok());
  for (int i = 0; i < 10; ++i) {
    clock.Advance(4);
    auto resumed = quick.Resume(started.value().id);
    BOOST_REQUIRE(resumed.ok());
    BOOST_TEST(resumed.value().has_value());
  }
}

BOOST_AUTO_TEST_CASE(malformed_unknown_and_ended_ids_resume_to_nothing) {
  for (const std::string& bad : {std::string(), std::string("abc"), std::string(64, 'G'),
                                std::string(63, 'a'), std::string(64, 'A')}) {
    BOOST_TEST(!Alive(bad));
  }
  BOOST_TEST(!Alive(std::string(64, 'a')));
  const std::string id = StartFor(7);
  BOOST_REQUIRE(sessions.End(id).ok());
  BOOST_TEST(!Alive(id));
  BOOST_TEST(sessions.End("not an id").ok());
}

BOOST_AUTO_TEST_CASE(sessions_of_inactive_accounts_do_not_resume) {
  const std::string id = StartFor(7);
  store.accounts[7].account.is_active = false;
  BOOST_TEST(!Alive(id));
}

BOOST_AUTO_TEST_CASE(starting_a_session_prunes_expired_ones) {
  const std::string old_one = StartFor(7);
  clock.Advance(kIdle);
  StartFor(7);
  BOOST_TEST(store.sessions.size() == 1u);
  BOOST_TEST(store.sessions.count(util::Hash(old_one)) == 0u);
}

BOOST_AUTO_TEST_CASE(storage_failures_are_errors_not_signed_out) {
  const std::string id = StartFor(7);
  store.fail_next = true;
  auto resumed = sessions.Resume(id);
  BOOST_REQUIRE(!resumed.ok());
  BOOST_TEST(resumed.error().code == "unavailable");
}

BOOST_AUTO_TEST_CASE(csrf_token_is_bound_to_the_id_and_the_key) {
  const std::string a = sessions.NewVisitorId();
  const std::string b = sessions.NewVisitorId();
  const std::string token = sessions.CsrfToken(a);
  BOOST_TEST(token.size() == 64u);
  BOOST_TEST(token == sessions.CsrfToken(a));
  BOOST_TEST(token != sessions.CsrfToken(b));
  BOOST_TEST(token != a);
  BOOST_TEST(sessions.CsrfTokenMatches(a, token));
  BOOST_TEST(!sessions.CsrfTokenMatches(b, token));
  SessionPolicy other_key{kIdle, kMaxAge, std::string(32, 'x')};
  SessionService elsewhere(repo, other_key, clock, random);
  BOOST_TEST(!elsewhere.CsrfTokenMatches(a, token));
}

BOOST_AUTO_TEST_CASE(csrf_check_refuses_missing_and_malformed_tokens) {
  const std::string id = sessions.NewVisitorId();
  const std::string token = sessions.CsrfToken(id);
  BOOST_TEST(!sessions.CsrfTokenMatches(id, ""));
  BOOST_TEST(!sessions.CsrfTokenMatches(id, token.substr(1)));
  BOOST_TEST(!sessions.CsrfTokenMatches(id, token + "0"));
  std::string flipped = token;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  BOOST_TEST(!sessions.CsrfTokenMatches(id, flipped));
  BOOST_TEST(!sessions.CsrfTokenMatches("", sessions.CsrfToken("")));
}

BOOST_AUTO_TEST_CASE(rotation_changes_the_csrf_token) {
  const std::string visitor = sessions.NewVisitorId();
  const std::string signed_in = StartFor(7, visitor);
  BOOST_TEST(sessions.CsrfToken(visitor) != sessions.CsrfToken(signed_in));
  BOOST_TEST(!sessions.CsrfTokenMatches(signed_in, sessions.CsrfToken(visitor)));
}

BOOST_AUTO_TEST_CASE(ids_are_random_and_distinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(sessions.NewVisitorId());
  BOOST_TEST(ids.size() == 100u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
