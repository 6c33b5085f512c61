// src/storage against a real MariaDB (the one the integration stack runs, or any database
// IntegrationDbConfig() points at, with sql/ applied).
//
// The stack's dispatcher shares the outbox, so rows written here use times ~100 years
// ahead: they are never due for it, and claims made here only reach rows that expire
// after that time, i.e. this file's own. Phones, usernames and limit keys are random per
// run, so runs and other tests do not see each other's data.
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ctime>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "domain/ports.h"
#include "storage/account_repository.h"
#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/health_check.h"
#include "storage/limit_repository.h"
#include "storage/otp_repository.h"
#include "storage/outbox_repository.h"
#include "test_db.h"
#include "util/crypto.h"

namespace phoneverify::itest {
namespace {

using domain::GuessDecision;
using domain::GuessOutcome;
using domain::WindowLimit;
using storage::Connection;
using storage::Database;
using storage::Param;

constexpr int64_t kCooldown = 60;

int64_t RealNow() { return static_cast<int64_t>(std::time(nullptr)); }
int64_t FutureNow() { return RealNow() + 100LL * 365 * 24 * 3600; }

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(std::random_device{}());
  return rng;
}

std::string RandomDigits(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + Rng()() % 10));
  return out;
}

std::string RandomPhone() { return "98" + RandomDigits(8); }
std::string UniqueName(const std::string& prefix) { return prefix + "_" + RandomDigits(12); }
// Accounts that need no row in `accounts` (otp_codes and outbox have no foreign keys).
int64_t SyntheticAccountId() {
  return 900'000'000'000LL + static_cast<int64_t>(Rng()() % 1'000'000'000LL);
}

struct DbFixture {
  DbFixture() : config(IntegrationDbConfig()), db(config) {}
  util::Config config;
  Database db;
  storage::MysqlAccountRepository accounts{db};
  storage::MysqlLimitRepository limits{db};
  storage::MysqlOtpRepository otps{db};
  storage::MysqlOutboxRepository outbox{db};
};

domain::Account MustCreate(storage::MysqlAccountRepository& repo, const std::string& name,
                           int64_t now) {
  domain::NewAccount in;
  in.username = name;
  in.username_key = name;
  in.email = name + "@example.com";
  in.password_hash = "$argon2id$v=19$m=12288,t=3,p=1$fake";
  in.pending_phone = RandomPhone();
  in.now = now;
  auto created = repo.Create(in);
  BOOST_REQUIRE(created.ok());
  return created.value();
}

domain::NewCode MakeCode(int64_t now, int max_attempts, int64_t message_expires_at) {
  domain::NewCode code;
  code.record.code_hash = std::string("\x00\xff hash ", 8) + RandomDigits(24);
  code.record.created_at = now;
  code.record.expires_at = now + 300;
  code.record.max_attempts = max_attempts;
  code.sealed_text = std::string("\x00sealed\xff", 8) + RandomDigits(8);
  code.message_expires_at = message_expires_at;
  code.request_id = "req-" + RandomDigits(8);
  return code;
}

domain::SendPlan MakePlan(int64_t account_id, const std::string& phone, int64_t now) {
  domain::SendPlan plan;
  plan.who.account_id = account_id;
  plan.phone = phone;
  plan.now = now;
  plan.limits = {{"phone_day", phone, 24 * 3600, 5},
                 {"account_day", std::to_string(account_id), 24 * 3600, 10}};
  return plan;
}

util::Status AcceptAll(const domain::SendSnapshot&) { return util::Status::Ok(); }
util::Status AcceptUsage(const std::vector<domain::WindowUsage>&) { return util::Status::Ok(); }

// The outbox id of a send, or its error.
util::Result<int64_t> OutboxId(const util::Result<domain::RecordedSend>& sent) {
  if (!sent.ok()) return sent.error();
  return sent.value().outbox_id;
}

util::Result<int64_t> Send(storage::MysqlOtpRepository& otps, int64_t account_id,
                           const std::string& phone, int64_t now, int max_attempts = 5) {
  return OutboxId(otps.RecordSend(MakePlan(account_id, phone, now),
                                  MakeCode(now, max_attempts, now + 600), AcceptAll));
}

util::Error TooSoon() {
  return util::Error::Make(util::ErrorKind::kRateLimited, "resend_too_soon", "Wait.");
}

util::Status CooldownDecider(const domain::SendSnapshot& snap, int64_t now) {
  if (snap.last_send_to_phone != 0 && now - snap.last_send_to_phone < kCooldown) {
    return TooSoon();
  }
  return util::Status::Ok();
}

GuessDecision WrongGuessDecider(const domain::GuessContext& ctx) {
  GuessDecision decision;
  if (!ctx.otp || ctx.otp->attempts_used >= ctx.otp->max_attempts) {
    decision.error = util::Error::Make(util::ErrorKind::kRateLimited, "too_many_attempts", "");
    return decision;
  }
  decision.outcome = GuessOutcome::kWrong;
  decision.error = util::Error::Make(util::ErrorKind::kInvalidInput, "otp_invalid", "");
  return decision;
}

GuessDecision CorrectDecider(const domain::GuessContext& ctx) {
  GuessDecision decision;
  if (ctx.otp) decision.outcome = GuessOutcome::kCorrect;
  return decision;
}

// One row of the outbox, read directly: {state, sealed_text IS NULL, last_error}.
struct OutboxRow {
  std::string state;
  bool sealed_null = false;
  std::string last_error;
  int tries = 0;
};

OutboxRow ReadOutboxRow(Database& db, int64_t id) {
  auto rows = db.Run([&](Connection& conn) {
    return conn.Query(
        "SELECT state, sealed_text IS NULL, last_error, tries FROM outbox WHERE id = ?",
        {Param::Int(id)});
  });
  BOOST_REQUIRE(rows.ok());
  BOOST_REQUIRE_EQUAL(rows.value().size(), 1u);
  const storage::Row& row = rows.value()[0];
  return {row.Text(0), row.Int(1) != 0, row.Text(2), static_cast<int>(row.Int(3))};
}

int CountGates(Database& db, const std::string& phone) {
  auto rows = db.Run([&](Connection& conn) {
    return conn.Query("SELECT COUNT(*) FROM limit_gates WHERE key_ = ?", {Param::Bytes(phone)});
  });
  BOOST_REQUIRE(rows.ok());
  return static_cast<int>(rows.value()[0].Int(0));
}

domain::GuessRequest Guess(int64_t account_id, const std::string& phone, int64_t now,
                           std::string key) {
  return {{account_id, ""}, phone, now, std::move(key)};
}

// How many guesses idempotency_keys holds for the pair.
int CountGuessKeys(Database& db, int64_t account_id, const std::string& phone) {
  auto rows = db.Run([&](Connection& conn) {
    return conn.Query(
        "SELECT COUNT(*) FROM idempotency_keys WHERE account_id = ? AND phone = ? "
        "AND operation = 'guess'",
        {Param::Int(account_id), Param::Text(phone)});
  });
  BOOST_REQUIRE(rows.ok());
  return static_cast<int>(rows.value()[0].Int(0));
}

bool Contains(const std::vector<domain::OutboxMessage>& messages, int64_t id) {
  for (const auto& m : messages) {
    if (m.id == id) return true;
  }
  return false;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(storage_mysql, DbFixture)

// ---- accounts and tokens --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(create_find_and_duplicate_username) {
  const int64_t now = FutureNow();
  const std::string name = UniqueName("user");
  domain::Account created = MustCreate(accounts, name, now);
  BOOST_TEST(created.id > 0);

  auto found = accounts.FindById(created.id);
  BOOST_REQUIRE(found.ok() && found.value().has_value());
  BOOST_TEST(found.value()->username == name);
  BOOST_TEST(found.value()->email == name + "@example.com");
  BOOST_TEST(!found.value()->phone.has_value());
  BOOST_TEST(found.value()->pending_phone == created.pending_phone);
  BOOST_TEST(found.value()->date_joined == now);

  auto credentials = accounts.FindCredentials(name);
  BOOST_REQUIRE(credentials.ok() && credentials.value().has_value());
  BOOST_TEST(credentials.value()->account_id == created.id);
  BOOST_TEST(credentials.value()->password_hash == "$argon2id$v=19$m=12288,t=3,p=1$fake");

  domain::NewAccount again;
  again.username = name;
  again.username_key = name;
  again.password_hash = "x";
  again.now = now;
  auto duplicate = accounts.Create(again);
  BOOST_REQUIRE(!duplicate.ok());
  BOOST_TEST(duplicate.error().code == "username_taken");
  BOOST_TEST(duplicate.error().field == "username");
  BOOST_TEST(static_cast<int>(duplicate.error().kind) ==
             static_cast<int>(util::ErrorKind::kConflict));

  auto missing = accounts.FindById(999'999'999'999LL);
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing.value().has_value());
  BOOST_TEST(accounts.RecordLogin(created.id, now + 5).ok());
}

BOOST_AUTO_TEST_CASE(tokens_store_find_delete) {
  const int64_t now = FutureNow();
  domain::Account account = MustCreate(accounts, UniqueName("tok"), now);
  const std::string hash = std::string("\x00\xff\x10token", 8) + RandomDigits(24);
  BOOST_REQUIRE(accounts.StoreToken(hash, account.id, now).ok());

  auto found = accounts.FindByTokenHash(hash);
  BOOST_REQUIRE(found.ok() && found.value().has_value());
  BOOST_TEST(found.value()->id == account.id);
  auto other = accounts.FindByTokenHash(hash.substr(0, 31) + "!");
  BOOST_REQUIRE(other.ok());
  BOOST_TEST(!other.value().has_value());

  auto deleted = accounts.DeleteToken(hash);
  BOOST_REQUIRE(deleted.ok());
  BOOST_TEST(deleted.value());
  auto gone = accounts.FindByTokenHash(hash);
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(!gone.value().has_value());
  auto again = accounts.DeleteToken(hash);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!again.value());
}

// ---- limits ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(limit_window_reserve_and_clear) {
  const int64_t now = FutureNow();
  // A key longer than the column is stored hashed, transparently.
  const WindowLimit login{"login", UniqueName(std::string(300, 'k')), 900, 10};
  for (int64_t at : {now - 900, now - 600, now - 10}) {  // now - 900: exactly one window ago
    BOOST_REQUIRE(limits.Reserve({login}, at, AcceptUsage).ok());
  }
  auto usage = limits.Usage({login, {"login", UniqueName("nobody"), 900, 10}}, now);
  BOOST_REQUIRE(usage.ok());
  BOOST_REQUIRE_EQUAL(usage.value().size(), 2u);
  BOOST_TEST(usage.value()[0].count == 2);
  BOOST_TEST(usage.value()[0].oldest == now - 600);
  BOOST_TEST(usage.value()[1].count == 0);
  BOOST_TEST(usage.value()[1].oldest == 0);

  BOOST_REQUIRE(limits.Clear(login).ok());
  auto cleared = limits.Usage({login}, now);
  BOOST_REQUIRE(cleared.ok());
  BOOST_TEST(cleared.value()[0].count == 0);
}

BOOST_AUTO_TEST_CASE(a_refused_reservation_records_nothing_and_a_release_gives_back) {
  const int64_t now = FutureNow();
  const WindowLimit user{"login", UniqueName("res"), 900, 2};
  const WindowLimit client{"login_ip", "10.8." + RandomDigits(6), 900, 5};
  auto refuse = [](const std::vector<domain::WindowUsage>&) -> util::Status { return TooSoon(); };
  auto refused = limits.Reserve({user, client}, now, refuse);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().code == "resend_too_soon");
  std::vector<domain::WindowUsage> seen;
  auto record = [&](const std::vector<domain::WindowUsage>& usage) {
    seen = usage;
    return util::Status::Ok();
  };
  auto ids = limits.Reserve({user, client}, now, record);
  BOOST_REQUIRE(ids.ok());
  BOOST_REQUIRE_EQUAL(ids.value().size(), 2u);
  BOOST_TEST(seen.at(0).count == 0);  // the refusal wrote nothing
  BOOST_TEST(seen.at(1).count == 0);
  BOOST_REQUIRE(limits.Release({ids.value()[1]}).ok());
  BOOST_REQUIRE(limits.Release({ids.value()[1]}).ok());  // re-runnable: gone is fine
  auto usage = limits.Usage({user, client}, now);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 1);
  BOOST_TEST(usage.value()[1].count == 0);
}

// Regression (issue 15, "the login throttle races"): reservations made at once never
// pass the limit.
BOOST_AUTO_TEST_CASE(parallel_reservations_never_pass_the_limit) {
  const int64_t now = FutureNow();
  const WindowLimit user{"login", UniqueName("race"), 900, 4};
  // The gate row exists first (as it does after a key's first failure), so the twins
  // below queue on its lock.
  BOOST_REQUIRE(limits.Reserve({user}, now, AcceptUsage).ok());
  auto refuse_when_full = [&](const std::vector<domain::WindowUsage>& usage) -> util::Status {
    if (usage[0].count >= user.max) return TooSoon();
    return util::Status::Ok();
  };
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      if (limits.Reserve({user}, now, refuse_when_full).ok()) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(granted.load() == 3);
  auto usage = limits.Usage({user}, now);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 4);
}

// ---- sending and guessing --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(record_send_accepted_and_superseded) {
  const int64_t now = FutureNow();
  const int64_t account_id = SyntheticAccountId();
  const std::string phone = RandomPhone();
  domain::SendSnapshot seen;
  auto first = OutboxId(otps.RecordSend(MakePlan(account_id, phone, now),
                                        MakeCode(now, 5, now + 600),
                                        [&](const domain::SendSnapshot& snap) {
                                          seen = snap;
                                          return util::Status::Ok();
                                        }));
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(!seen.phone_owner.has_value());
  BOOST_TEST(seen.last_send_to_phone == 0);
  BOOST_REQUIRE_EQUAL(seen.usage.size(), 2u);
  BOOST_TEST(seen.usage[0].count == 0);

  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->delivery_state == "queued");
  BOOST_TEST(status.value()->last_send_to_phone == now);
  BOOST_TEST(status.value()->otp.max_attempts == 5);
  BOOST_TEST(status.value()->otp.code_hash.substr(0, 8) == std::string("\x00\xff hash ", 8));

  auto second = Send(otps, account_id, phone, now + 100);
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.value() > first.value());
  OutboxRow old_row = ReadOutboxRow(db, first.value());
  BOOST_TEST(old_row.state == "superseded");
  BOOST_TEST(old_row.sealed_null);
  BOOST_TEST(ReadOutboxRow(db, second.value()).state == "queued");

  auto usage = otps.Usage(MakePlan(account_id, phone, now + 100).limits, now + 100);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 2);
  BOOST_TEST(usage.value()[0].oldest == now);
  BOOST_TEST(usage.value()[1].count == 2);
}

// The storage declines (the phone has an owner) and the decider names the refusal.
BOOST_AUTO_TEST_CASE(record_send_refusal_persists_nothing) {
  const int64_t now = FutureNow();
  const int64_t account_id = SyntheticAccountId();
  const std::string phone = RandomPhone();
  const int64_t owner = MustCreate(accounts, UniqueName("owner"), now).id;
  auto owned = db.Run([&](Connection& conn) {
    return conn.Exec("UPDATE accounts SET phone = ?, phone_verified = 1 WHERE id = ?",
                     {Param::Text(phone), Param::Int(owner)});
  });
  BOOST_REQUIRE(owned.ok());
  const domain::SendPlan plan = MakePlan(account_id, phone, now);
  std::optional<int64_t> owner_seen;
  auto refused = otps.RecordSend(plan, MakeCode(now, 5, now + 600),
                                 [&](const domain::SendSnapshot& snap) -> util::Status {
                                   owner_seen = snap.phone_owner;
                                   return TooSoon();
                                 });
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().code == "resend_too_soon");
  BOOST_TEST((owner_seen == std::optional<int64_t>(owner)));
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok());
  BOOST_TEST(!status.value().has_value());
  auto usage = otps.Usage(plan.limits, now);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 0);
  BOOST_TEST(usage.value()[1].count == 0);
  BOOST_TEST(CountGates(db, phone) == 0);  // even the gate rows were rolled back
}

BOOST_AUTO_TEST_CASE(concurrent_sends_to_one_phone_accept_exactly_one) {
  const int64_t now = FutureNow();
  const std::string phone = RandomPhone();
  constexpr int kThreads = 12;
  std::latch start(kThreads);
  std::atomic<int> accepted{0};
  std::atomic<int> too_soon{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      const int64_t account_id = SyntheticAccountId();
      domain::SendPlan plan = MakePlan(account_id, phone, now);
      plan.cooldown = kCooldown;
      start.arrive_and_wait();
      auto sent = otps.RecordSend(
          plan, MakeCode(now, 5, now + 600),
          [&](const domain::SendSnapshot& snap) { return CooldownDecider(snap, now); });
      if (sent.ok()) ++accepted;
      if (!sent.ok() && sent.error().code == "resend_too_soon") ++too_soon;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(accepted.load() == 1);
  BOOST_TEST(too_soon.load() == kThreads - 1);
  auto usage = otps.Usage({{"phone_day", phone, 24 * 3600, 5}}, now);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 1);
}

BOOST_AUTO_TEST_CASE(concurrent_wrong_guesses_use_exactly_max_attempts) {
  const int64_t now = FutureNow();
  const int64_t account_id = MustCreate(accounts, UniqueName("guesser"), now).id;
  const std::string phone = RandomPhone();
  BOOST_REQUIRE(Send(otps, account_id, phone, now, /*max_attempts=*/5).ok());
  constexpr int kThreads = 20;
  std::latch start(kThreads);
  std::atomic<int> wrong{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto applied = otps.RecordGuess(Guess(account_id, phone, now + 1, ""), WrongGuessDecider);
      if (applied.ok() && applied.value().decision.outcome == GuessOutcome::kWrong) ++wrong;
      if (applied.ok() && applied.value().decision.outcome == GuessOutcome::kRefused) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == 5);
  BOOST_TEST(refused.load() == kThreads - 5);
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 5);
  BOOST_TEST(!status.value()->otp.consumed);
  // A locked code's guess is told when the phone's last send was (for its Retry-After).
  int64_t last_send = -1;
  auto locked = otps.RecordGuess(Guess(account_id, phone, now + 2, ""),
                                 [&](const domain::GuessContext& ctx) {
                                   last_send = ctx.last_send_to_phone;
                                   return WrongGuessDecider(ctx);
                                 });
  BOOST_REQUIRE(locked.ok());
  BOOST_TEST(last_send == now);
}

// Twins of one client's key, all at once: the key's attempt is counted once and recorded
// once, whichever twin wins; the others answer as its replay. Guesses with keys of their
// own, racing them, each count once more.
BOOST_AUTO_TEST_CASE(concurrent_twins_of_a_clients_key_count_one_attempt) {
  const int64_t now = FutureNow();
  const int64_t account_id = MustCreate(accounts, UniqueName("twins"), now).id;
  const std::string phone = RandomPhone();
  BOOST_REQUIRE(Send(otps, account_id, phone, now, /*max_attempts=*/50).ok());
  const std::string twin_key = "twin-" + RandomDigits(10);
  constexpr int kTwins = 8;
  constexpr int kOthers = 4;
  std::latch start(kTwins + kOthers);
  std::atomic<int> wrong{0};
  std::atomic<int> replays{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kTwins + kOthers; ++i) {
    const std::string key = i < kTwins ? twin_key : "own-" + RandomDigits(10);
    threads.emplace_back([&, key] {
      start.arrive_and_wait();
      auto applied =
          otps.RecordGuess(Guess(account_id, phone, now + 1, key), WrongGuessDecider);
      if (applied.ok() && applied.value().decision.outcome == GuessOutcome::kWrong) ++wrong;
      if (applied.ok() && applied.value().replayed) ++replays;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == kTwins + kOthers);
  BOOST_TEST(replays.load() == kTwins - 1);  // one twin counted, the others its replays
  BOOST_TEST(CountGuessKeys(db, account_id, phone) == 1 + kOthers);
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 1 + kOthers);
}

BOOST_AUTO_TEST_CASE(correct_guess_verifies_and_second_account_gets_phone_taken) {
  const int64_t now = FutureNow();
  const std::string phone = RandomPhone();
  domain::Account a = MustCreate(accounts, UniqueName("owner"), now);
  domain::Account b = MustCreate(accounts, UniqueName("late"), now);
  BOOST_REQUIRE(Send(otps, a.id, phone, now).ok());
  BOOST_REQUIRE(Send(otps, b.id, phone, now + kCooldown).ok());

  auto verified = otps.RecordGuess(Guess(a.id, phone, now + 70, ""), CorrectDecider);
  BOOST_REQUIRE(verified.ok());
  BOOST_TEST((verified.value().decision.outcome == GuessOutcome::kCorrect));
  auto owner = otps.PhoneOwner(phone);
  BOOST_REQUIRE(owner.ok() && owner.value().has_value());
  BOOST_TEST(*owner.value() == a.id);
  auto found = accounts.FindById(a.id);
  BOOST_REQUIRE(found.ok() && found.value().has_value());
  BOOST_TEST(found.value()->phone.value_or("") == phone);
  BOOST_TEST(found.value()->phone_verified);
  BOOST_TEST(found.value()->pending_phone.empty());

  // b's decider does not look at the owner: the unique key must still refuse.
  auto taken = otps.RecordGuess(Guess(b.id, phone, now + 71, ""), CorrectDecider);
  BOOST_REQUIRE(!taken.ok());
  BOOST_TEST(taken.error().code == "phone_taken");
  BOOST_TEST(taken.error().field == "phone");
  BOOST_TEST(taken.error().details == "This phone number is already verified by another account.");
  auto b_status = otps.FindCodeStatus(b.id, phone);
  BOOST_REQUIRE(b_status.ok() && b_status.value().has_value());
  BOOST_TEST(!b_status.value()->otp.consumed);  // rolled back with the rest
  auto b_account = accounts.FindById(b.id);
  BOOST_REQUIRE(b_account.ok() && b_account.value().has_value());
  BOOST_TEST(!b_account.value()->phone.has_value());
}

// ---- outbox ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(two_claimers_never_get_the_same_row) {
  const int64_t now = FutureNow();
  std::set<int64_t> mine;
  for (int i = 0; i < 30; ++i) {
    auto id = Send(otps, SyntheticAccountId(), RandomPhone(), now);
    BOOST_REQUIRE(id.ok());
    mine.insert(id.value());
  }
  std::mutex mu;
  std::map<int64_t, int> claimed;  // id -> times claimed
  std::atomic<int> errors{0};
  auto claimer = [&](const std::string& name) {
    for (int round = 0;; ++round) {
      auto got = outbox.Claim(name + std::to_string(round), now + 1, 60, 4);
      if (!got.ok()) {
        ++errors;
        return;
      }
      if (got.value().empty()) return;
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& m : got.value()) ++claimed[m.id];
    }
  };
  std::thread one(claimer, "claimer-one-");
  std::thread two(claimer, "claimer-two-");
  one.join();
  two.join();
  BOOST_TEST(errors.load() == 0);
  for (int64_t id : mine) {
    BOOST_TEST(claimed[id] == 1, "outbox row " << id << " claimed " << claimed[id] << " times");
  }
}

BOOST_AUTO_TEST_CASE(expired_lease_is_reclaimed_and_old_claim_is_lost) {
  const int64_t now = FutureNow();
  const int64_t account_id = SyntheticAccountId();
  auto id = Send(otps, account_id, RandomPhone(), now);
  BOOST_REQUIRE(id.ok());

  auto first = outbox.Claim("lease-a-" + RandomDigits(8), now, 30, 1000);
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(Contains(first.value(), id.value()));
  const auto& message = *std::find_if(first.value().begin(), first.value().end(),
                                      [&](const auto& m) { return m.id == id.value(); });
  BOOST_TEST(message.tries == 1);
  BOOST_TEST(message.sealed_text.substr(0, 8) == std::string("\x00sealed\xff", 8));
  BOOST_TEST(message.expires_at == now + 600);
  BOOST_TEST(message.request_id.rfind("req-", 0) == 0);

  auto early = outbox.Claim("lease-b-early-" + RandomDigits(8), now + 10, 30, 1000);
  BOOST_REQUIRE(early.ok());
  BOOST_TEST(!Contains(early.value(), id.value()));

  const std::string token_b = "lease-b-" + RandomDigits(8);
  auto later = outbox.Claim(token_b, now + 31, 30, 1000);
  BOOST_REQUIRE(later.ok());
  BOOST_REQUIRE(Contains(later.value(), id.value()));
  BOOST_TEST(ReadOutboxRow(db, id.value()).tries == 2);
}

// MarkMany writes the sent marks of one claim in one statement; when some of those rows
// were taken over meanwhile it still says which marks held, and the other marks (a retry
// under another claim) go in the same transaction.
BOOST_AUTO_TEST_CASE(mark_many_writes_a_claims_sent_marks_together_and_finds_lost_ones) {
  const int64_t now = FutureNow();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = Send(otps, SyntheticAccountId(), RandomPhone(), now);
    BOOST_REQUIRE(id.ok());
    ids.push_back(id.value());
  }
  const std::string token_a = "many-a-" + RandomDigits(8);
  auto a = outbox.Claim(token_a, now, 30, 1000);
  BOOST_REQUIRE(a.ok());
  for (int64_t id : ids) BOOST_REQUIRE(Contains(a.value(), id));
  // Rows 1 and 3 went to another dispatcher (its claim token) after our lease ran out.
  const std::string token_b = "many-b-" + RandomDigits(8);
  auto stolen = db.Run([&](Connection& conn) {
    return conn.Exec("UPDATE outbox SET claim_token = ? WHERE id IN (?, ?)",
                     {Param::Bytes(token_b), Param::Int(ids[1]), Param::Int(ids[3])});
  });
  BOOST_REQUIRE(stolen.ok());
  using Kind = domain::OutboxMark::Kind;
  std::vector<domain::OutboxMark> marks;
  for (int64_t id : ids) marks.push_back({Kind::kSent, id, token_a, now + 1, "", "sparrow"});
  marks.push_back({Kind::kRetry, ids[3], token_b, now + 60, "http 502", ""});
  auto held = outbox.MarkMany(marks);
  BOOST_REQUIRE(held.ok());
  const std::vector<bool> expected = {true, false, true, false, true, true};
  BOOST_TEST(held.value() == expected, boost::test_tools::per_element());
  for (int i : {0, 2, 4}) {
    const OutboxRow row = ReadOutboxRow(db, ids[static_cast<size_t>(i)]);
    BOOST_TEST(row.state == "sent");
    BOOST_TEST(row.sealed_null);
  }
  BOOST_TEST(ReadOutboxRow(db, ids[1]).state == "sending");  // the other claim's, untouched
  BOOST_TEST(ReadOutboxRow(db, ids[3]).state == "retry");
  BOOST_TEST(ReadOutboxRow(db, ids[3]).last_error == "http 502");
}

BOOST_AUTO_TEST_CASE(mark_calls_need_the_current_claim_and_erase_text) {
  const int64_t now = FutureNow();
  auto id = Send(otps, SyntheticAccountId(), RandomPhone(), now);
  BOOST_REQUIRE(id.ok());
  const std::string token_a = "mark-a-" + RandomDigits(8);
  auto a = outbox.Claim(token_a, now, 30, 1000);
  BOOST_REQUIRE(a.ok() && Contains(a.value(), id.value()));
  const std::string token_b = "mark-b-" + RandomDigits(8);
  auto b = outbox.Claim(token_b, now + 30, 30, 1000);
  BOOST_REQUIRE(b.ok() && Contains(b.value(), id.value()));

  for (auto lost : {outbox.MarkSent(id.value(), token_a, now + 31),
                    outbox.MarkRetry(id.value(), token_a, now + 40, "late"),
                    outbox.MarkFailed(id.value(), token_a, now + 31, "late")}) {
    BOOST_REQUIRE(lost.ok());
    BOOST_TEST(!lost.value());
  }
  BOOST_TEST(ReadOutboxRow(db, id.value()).state == "sending");

  // Retry with an error that is too long and not UTF-8: stored cleaned and cut.
  auto retry = outbox.MarkRetry(id.value(), token_b, now + 100, std::string(300, 'e') + "\xff");
  BOOST_REQUIRE(retry.ok());
  BOOST_TEST(retry.value());
  OutboxRow retrying = ReadOutboxRow(db, id.value());
  BOOST_TEST(retrying.state == "retry");
  BOOST_TEST(!retrying.sealed_null);
  BOOST_TEST(retrying.last_error == std::string(255, 'e'));
  auto again_b = outbox.MarkSent(id.value(), token_b, now + 50);
  BOOST_REQUIRE(again_b.ok());
  BOOST_TEST(!again_b.value());  // a retrying row is no longer claimed

  auto not_due = outbox.Claim("mark-c-" + RandomDigits(8), now + 99, 30, 1000);
  BOOST_REQUIRE(not_due.ok());
  BOOST_TEST(!Contains(not_due.value(), id.value()));
  const std::string token_c = "mark-c-" + RandomDigits(8);
  auto due = outbox.Claim(token_c, now + 100, 30, 1000);
  BOOST_REQUIRE(due.ok() && Contains(due.value(), id.value()));
  auto sent = outbox.MarkSent(id.value(), token_c, now + 101);
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(sent.value());
  OutboxRow done = ReadOutboxRow(db, id.value());
  BOOST_TEST(done.state == "sent");
  BOOST_TEST(done.sealed_null);
}

BOOST_AUTO_TEST_CASE(mark_failed_erases_text) {
  const int64_t now = FutureNow();
  const int64_t account_id = SyntheticAccountId();
  const std::string phone = RandomPhone();
  auto id = Send(otps, account_id, phone, now);
  BOOST_REQUIRE(id.ok());
  const std::string token = "fail-" + RandomDigits(8);
  auto claimed = outbox.Claim(token, now, 30, 1000);
  BOOST_REQUIRE(claimed.ok() && Contains(claimed.value(), id.value()));
  auto failed = outbox.MarkFailed(id.value(), token, now + 1, "1007: invalid receiver");
  BOOST_REQUIRE(failed.ok());
  BOOST_TEST(failed.value());
  OutboxRow row = ReadOutboxRow(db, id.value());
  BOOST_TEST(row.state == "failed");
  BOOST_TEST(row.sealed_null);
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->delivery_state == "failed");
  BOOST_TEST(status.value()->delivery_error == "1007: invalid receiver");
}

BOOST_AUTO_TEST_CASE(expire_stale_fails_and_erases_expired_messages) {
  // Real time here: ExpireStale(now) only touches rows already expired in real time,
  // which the stack's dispatcher would expire just the same.
  const int64_t now = RealNow();
  const int64_t account_id = SyntheticAccountId();
  const std::string phone = RandomPhone();
  auto id = OutboxId(otps.RecordSend(MakePlan(account_id, phone, now - 100),
                                     MakeCode(now - 100, 5, now - 1), AcceptAll));
  BOOST_REQUIRE(id.ok());
  auto expired = outbox.ExpireStale(now);
  BOOST_REQUIRE(expired.ok());
  OutboxRow row = ReadOutboxRow(db, id.value());
  BOOST_TEST(row.state == "failed");
  BOOST_TEST(row.last_error == "expired");
  BOOST_TEST(row.sealed_null);
  auto depth = outbox.Depth();
  BOOST_REQUIRE(depth.ok());
  BOOST_TEST(depth.value() >= 0);
}

// ---- connection handling ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(deadlocked_transaction_is_retried) {
  const std::string key_x = "dl-x-" + RandomDigits(10);
  const std::string key_y = "dl-y-" + RandomDigits(10);
  for (const auto& key : {key_x, key_y}) {
    auto made = db.Run([&](Connection& conn) {
      return conn.Exec("INSERT INTO limit_gates (scope, key_, last_at) VALUES ('test', ?, 0)",
                       {Param::Bytes(key)});
    });
    BOOST_REQUIRE(made.ok());
  }
  std::latch both_hold_one(2);
  std::atomic<int> runs{0};
  auto lock_both = [&](const std::string& first, const std::string& second) {
    bool first_run = true;
    return db.Transact([&](Connection& conn) -> util::Status {
      ++runs;
      const char* lock =
          "SELECT last_at FROM limit_gates WHERE scope = 'test' AND key_ = ? "
          "FOR UPDATE";
      if (auto r = conn.Query(lock, {Param::Bytes(first)}); !r.ok()) return r.error();
      if (first_run) {
        first_run = false;
        both_hold_one.arrive_and_wait();
      }
      if (auto r = conn.Query(lock, {Param::Bytes(second)}); !r.ok()) return r.error();
      return util::Status::Ok();
    });
  };
  util::Status st_one, st_two;
  std::thread one([&] { st_one = lock_both(key_x, key_y); });
  std::thread two([&] { st_two = lock_both(key_y, key_x); });
  one.join();
  two.join();
  BOOST_TEST(st_one.ok());
  BOOST_TEST(st_two.ok());
  BOOST_TEST(runs.load() == 3);  // the deadlock victim ran once more
}

BOOST_AUTO_TEST_CASE(connection_closed_by_server_is_reopened) {
  domain::Account account = MustCreate(accounts, UniqueName("idle"), FutureNow());
  storage::MysqlHealthCheck health(db);
  // The session of each kind (autocommit, transaction) this single thread uses.
  auto session_id = [&](bool transaction) {
    auto ask = [](Connection& conn) -> util::Result<int64_t> {
      auto id = conn.Query("SELECT CONNECTION_ID()", {});
      if (!id.ok()) return id.error();
      return id.value()[0].Int(0);
    };
    auto id = transaction ? db.Transact(ask) : db.Run(ask);
    BOOST_REQUIRE(id.ok());
    return id.value();
  };
  for (int round = 0; round < 3; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      // The server drops both pooled sessions after one idle second.
      auto shorten = [](Connection& conn) { return conn.Exec("SET SESSION wait_timeout = 1", {}); };
      session_id(false);  // a read: reopens the session an earlier round left to die
      BOOST_REQUIRE(db.Run(shorten).ok());
      BOOST_REQUIRE(db.Transact(shorten).ok());
      const int64_t tx_session = session_id(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      if (round == 0) {
        auto found = accounts.FindById(account.id);  // autocommit path
        BOOST_REQUIRE(found.ok());
        BOOST_TEST(found.value().has_value());
      } else if (round == 1) {
        BOOST_TEST(Send(otps, account.id, RandomPhone(), FutureNow()).ok());  // idempotent
      } else {
        // A plain transaction whose first statement writes: the dead session took nothing
        // with it (no COMMIT was sent), so it runs again on a new one.
        domain::NewAccount in;
        in.username = in.username_key = UniqueName("after_idle");
        in.email = in.username + "@example.com";
        in.password_hash = "$argon2id$v=19$m=12288,t=3,p=1$fake";
        in.now = FutureNow();
        auto created = accounts.Create(in);
        BOOST_TEST(created.ok());
      }
      if (round > 0) BOOST_TEST(session_id(true) != tx_session);  // it did reconnect
    }
  }
  BOOST_TEST(health.AnsweringNode().ok());
}

BOOST_AUTO_TEST_CASE(a_guess_by_token_resolves_the_account_with_the_code) {
  const int64_t now = FutureNow();
  domain::Account account = MustCreate(accounts, UniqueName("bytoken"), now);
  const std::string token_hash = std::string("\x00\xfftk", 4) + RandomDigits(28);
  BOOST_REQUIRE(accounts.StoreToken(token_hash, account.id, now).ok());
  const std::string phone = RandomPhone();
  BOOST_REQUIRE(Send(otps, account.id, phone, now).ok());

  int64_t seen_account = -1;
  auto by_token = [&](const domain::GuessContext& ctx) {
    seen_account = ctx.account_id;
    return WrongGuessDecider(ctx);
  };
  auto guess = otps.RecordGuess({{0, token_hash}, phone, now + 1, ""}, by_token);
  BOOST_REQUIRE(guess.ok());
  BOOST_TEST(seen_account == account.id);
  BOOST_TEST((guess.value().decision.outcome == GuessOutcome::kWrong));

  // An unknown token: no account, no code, nothing counted.
  auto stranger = otps.RecordGuess({{0, token_hash.substr(0, 31) + "?"}, phone, now + 2, ""},
                                   by_token);
  BOOST_REQUIRE(stranger.ok());
  BOOST_TEST(seen_account == 0);
  auto status = otps.FindCodeStatus(account.id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 1);

  // A revoked token resolves to nothing either.
  BOOST_REQUIRE(accounts.DeleteToken(token_hash).ok());
  seen_account = -1;
  BOOST_REQUIRE(otps.RecordGuess({{0, token_hash}, phone, now + 3, ""}, by_token).ok());
  BOOST_TEST(seen_account == 0);
}

// The phone's last send is read only for a code whose attempts are used up (the
// too_many_attempts answer names when a new code may be asked for), with and without a
// client's key, by token and by account.
BOOST_AUTO_TEST_CASE(a_locked_out_guess_reads_the_phones_last_send) {
  const int64_t now = FutureNow();
  domain::Account account = MustCreate(accounts, UniqueName("lastsend"), now);
  const std::string token_hash = std::string("\x01ls", 3) + RandomDigits(29);
  BOOST_REQUIRE(accounts.StoreToken(token_hash, account.id, now).ok());
  const std::string phone = RandomPhone();
  BOOST_REQUIRE(Send(otps, account.id, phone, now, 1).ok());

  int64_t seen_last_send = -1;
  auto seeing = [&](const domain::GuessContext& ctx) {
    seen_last_send = ctx.last_send_to_phone;
    return WrongGuessDecider(ctx);
  };
  BOOST_REQUIRE(otps.RecordGuess(Guess(account.id, phone, now + 1, ""), seeing).ok());
  BOOST_TEST(seen_last_send == 0);  // attempts left: not read
  const std::vector<domain::Caller> callers = {{account.id, ""}, {0, token_hash}};
  for (const domain::Caller& who : callers) {
    for (const std::string& key : {std::string(), "ls-" + RandomDigits(10)}) {
      seen_last_send = -1;
      BOOST_REQUIRE(otps.RecordGuess({who, phone, now + 2, key}, seeing).ok());
      BOOST_TEST(seen_last_send == now);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_guess_keeps_a_clients_key_and_no_other) {
  const int64_t now = FutureNow();
  const int64_t account_id = MustCreate(accounts, UniqueName("keys"), now).id;
  const std::string phone = RandomPhone();
  BOOST_REQUIRE(Send(otps, account_id, phone, now).ok());
  const std::string no_key;
  for (int i = 0; i < 2; ++i) {
    auto guess = otps.RecordGuess(Guess(account_id, phone, now + 1, no_key),
                                  WrongGuessDecider);
    BOOST_REQUIRE(guess.ok());
    BOOST_TEST((guess.value().decision.outcome == GuessOutcome::kWrong));
  }
  BOOST_TEST(CountGuessKeys(db, account_id, phone) == 0);
  // (Without a key, each request is its own guess.)
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 2);

  const std::string client_key = "cli-" + RandomDigits(10);
  for (int i = 0; i < 2; ++i) {
    BOOST_REQUIRE(
        otps.RecordGuess(Guess(account_id, phone, now + 2, client_key), WrongGuessDecider).ok());
  }
  BOOST_TEST(CountGuessKeys(db, account_id, phone) == 1);
  status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 3);
  // A keyless guess after it still counts (the row's last key is the client's).
  BOOST_REQUIRE(
      otps.RecordGuess(Guess(account_id, phone, now + 3, no_key), WrongGuessDecider).ok());
  status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 4);
}

BOOST_AUTO_TEST_CASE(unreachable_database_is_unavailable) {
  util::Config bad = config;
  bad.db_host.clear();
  bad.db_socket = "/nonexistent/phoneverify-test.sock";
  Database nowhere(bad);
  storage::MysqlHealthCheck health(nowhere);
  storage::MysqlAccountRepository repo(nowhere);
  BOOST_TEST(!health.AnsweringNode().ok());
  auto found = repo.FindById(1);
  BOOST_REQUIRE(!found.ok());
  BOOST_TEST(found.error().code == "unavailable");
  BOOST_TEST(static_cast<int>(found.error().kind) ==
             static_cast<int>(util::ErrorKind::kUnavailable));
}

BOOST_AUTO_TEST_CASE(idempotency_key_makes_sends_and_guesses_run_once) {
  const int64_t now = FutureNow();
  const int64_t account_id = MustCreate(accounts, UniqueName("idem"), now).id;
  const std::string phone = RandomPhone();
  domain::NewCode code = MakeCode(now, 5, now + 600);
  code.client_key = "idem-" + RandomDigits(10);
  auto first = OutboxId(otps.RecordSend(MakePlan(account_id, phone, now), code, AcceptAll));
  BOOST_REQUIRE(first.ok());
  bool decided = false;
  auto again = otps.RecordSend(MakePlan(account_id, phone, now + 1), code,
                               [&](const domain::SendSnapshot&) {
                                 decided = true;
                                 return util::Status::Ok();
                               });
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again.value().replayed);
  BOOST_TEST(again.value().outbox_id == first.value());
  BOOST_TEST(!decided);  // a replay is answered, not decided again
  BOOST_REQUIRE_EQUAL(again.value().usage.size(), 2u);
  BOOST_TEST(again.value().usage[0].count == 1);  // as read: the first run counted
  auto usage = otps.Usage(MakePlan(account_id, phone, now + 1).limits, now + 1);
  BOOST_REQUIRE(usage.ok());
  BOOST_TEST(usage.value()[0].count == 1);  // charged once
  BOOST_TEST(ReadOutboxRow(db, first.value()).state == "queued");

  domain::NewCode other = MakeCode(now + 2, 5, now + 600);
  other.client_key = "idem-" + RandomDigits(10);
  auto fresh = OutboxId(otps.RecordSend(MakePlan(account_id, phone, now + 2), other, AcceptAll));
  BOOST_REQUIRE(fresh.ok());
  BOOST_TEST(fresh.value() != first.value());

  const std::string guess_key = "guess-" + RandomDigits(10);
  int guesses_decided = 0;
  auto counting_decider = [&](const domain::GuessContext& ctx) {
    ++guesses_decided;
    return WrongGuessDecider(ctx);
  };
  for (int i = 0; i < 3; ++i) {
    auto guess = otps.RecordGuess(Guess(account_id, phone, now + 3, guess_key), counting_decider);
    BOOST_REQUIRE(guess.ok());
    BOOST_TEST(guess.value().replayed == (i > 0));
    BOOST_TEST((guess.value().decision.outcome == GuessOutcome::kWrong));
    if (i > 0) {
      BOOST_REQUIRE(guess.value().otp.has_value());
      BOOST_TEST(guess.value().otp->attempts_used == 1);  // the code row as it is now
    }
  }
  BOOST_TEST(guesses_decided == 1);  // replays are answered, not decided again
  auto status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 1);
  // Another key counts; the first one, repeated after it, is still found.
  const std::string other_key = "guess-" + RandomDigits(10);
  BOOST_REQUIRE(otps.RecordGuess(Guess(account_id, phone, now + 4, other_key), WrongGuessDecider).ok());
  auto late = otps.RecordGuess(Guess(account_id, phone, now + 5, guess_key), counting_decider);
  BOOST_REQUIRE(late.ok());
  BOOST_TEST(late.value().replayed);
  BOOST_TEST((late.value().decision.outcome == GuessOutcome::kWrong));
  status = otps.FindCodeStatus(account_id, phone);
  BOOST_REQUIRE(status.ok() && status.value().has_value());
  BOOST_TEST(status.value()->otp.attempts_used == 2);
}

// The send procedure's own re-run safety, called directly (pv_send_code_v2, sql/017): the same made-up key again
// (what RunIdempotent does after a COMMIT whose answer was lost) finds its first run in
// the code row and writes nothing; idempotency_keys gets no row for it; another key is
// another send. A client's key (kept) is found in idempotency_keys.
BOOST_AUTO_TEST_CASE(the_send_procedure_run_again_with_its_key_answers_its_first_run) {
  const int64_t now = FutureNow();
  const int64_t account_id = MustCreate(accounts, UniqueName("srvkey"), now).id;
  const std::string phone = RandomPhone();
  auto call_as = [&](int64_t caller, const std::string& token_hash, const std::string& key,
                     bool kept, int64_t at) {
    auto rows = db.Run([&](Connection& conn) {
      return conn.Call("CALL pv_send_code_v2(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {Param::Int(caller), Param::Bytes(token_hash), Param::Text(phone),
                        Param::Int(at),
                        Param::Text(key), Param::Int(kept ? 1 : 0),
                        Param::Text("[[\"last_send\",\"" + util::HexEncode(phone) + "\"]]"),
                        Param::Text("[]"), Param::Int(0), Param::Bytes(std::string(32, 'h')),
                        Param::Int(at + 300), Param::Int(5), Param::Bytes("sealed"),
                        Param::Int(at + 300), Param::Text("req")});
    });
    BOOST_REQUIRE(rows.ok());
    BOOST_REQUIRE_EQUAL(rows.value().size(), 1u);
    BOOST_TEST(rows.value()[0].Int(5) == (rows.value()[0].Text(0) == "unauthenticated" ? 0 : account_id));
    return std::make_pair(rows.value()[0].Text(0), rows.value()[0].Int(1));
  };
  auto call = [&](const std::string& key, bool kept, int64_t at) {
    return call_as(account_id, "", key, kept, at);
  };
  const std::string made_up = "~" + RandomDigits(20);
  const auto first = call(made_up, false, now);
  BOOST_TEST(first.first == "accepted");
  const auto rerun = call(made_up, false, now + 1);
  BOOST_TEST(rerun.first == "replayed");
  BOOST_TEST(rerun.second == first.second);
  BOOST_TEST(ReadOutboxRow(db, first.second).state == "queued");
  auto keys = db.Run([&](Connection& conn) {
    return conn.Query("SELECT COUNT(*) FROM idempotency_keys WHERE account_id = ?",
                      {Param::Int(account_id)});
  });
  BOOST_REQUIRE(keys.ok());
  BOOST_TEST(keys.value()[0].Int(0) == 0);

  const auto second = call("~" + RandomDigits(20), false, now + 2);
  BOOST_TEST(second.first == "accepted");
  BOOST_TEST(second.second != first.second);
  BOOST_TEST(ReadOutboxRow(db, first.second).state == "superseded");
  // The first key is no longer the code row's: it would send again (only a re-run right
  // after its first run uses it).
  const std::string client = "cli-" + RandomDigits(10);
  const auto kept = call(client, true, now + 3);
  BOOST_TEST(kept.first == "accepted");
  call("~" + RandomDigits(20), false, now + 4);  // a later send replaces the code row
  const auto repeated = call(client, true, now + 5);
  BOOST_TEST(repeated.first == "replayed");  // found in idempotency_keys
  BOOST_TEST(repeated.second == kept.second);

  // By API token (sql/017): the token's account is the caller; a token of no active
  // account is refused before anything is locked or written.
  const std::string token_hash = util::Hash("srvkey-token-" + RandomDigits(12));
  BOOST_REQUIRE(accounts.StoreToken(token_hash, account_id, now).ok());
  const auto by_token = call_as(0, token_hash, "~" + RandomDigits(20), false, now + 6);
  BOOST_TEST(by_token.first == "accepted");
  BOOST_TEST(ReadOutboxRow(db, by_token.second).state == "queued");
  const auto stranger = call_as(0, util::Hash("no-such-token"), "~" + RandomDigits(20), false,
                                now + 7);
  BOOST_TEST(stranger.first == "unauthenticated");
  BOOST_TEST(ReadOutboxRow(db, by_token.second).state == "queued");  // not superseded

  // The previous release's signature (sql/016), kept for its workers during a rolling
  // upgrade: the same send, by account.
  auto old_release = db.Run([&](Connection& conn) {
    return conn.Call("CALL pv_send_code(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {Param::Int(account_id), Param::Text(phone), Param::Int(now + 8),
                      Param::Text("~" + RandomDigits(20)), Param::Int(0),
                      Param::Text("[[\"last_send\",\"" + util::HexEncode(phone) + "\"]]"),
                      Param::Text("[]"), Param::Int(0), Param::Bytes(std::string(32, 'o')),
                      Param::Int(now + 308), Param::Int(5), Param::Bytes("sealed"),
                      Param::Int(now + 308), Param::Text("req-old")});
  });
  BOOST_REQUIRE(old_release.ok());
  BOOST_REQUIRE_EQUAL(old_release.value().size(), 1u);
  BOOST_TEST(old_release.value()[0].Text(0) == "accepted");
  BOOST_TEST(ReadOutboxRow(db, old_release.value()[0].Int(1)).state == "queued");
  BOOST_TEST(ReadOutboxRow(db, by_token.second).state == "superseded");
}

// KILL drops the connection between the work and its COMMIT: the transaction is rolled
// back and the client cannot know. Idempotent work runs once more and lands once; plain
// work reports the database as unavailable.
BOOST_AUTO_TEST_CASE(a_commit_lost_with_its_connection_is_run_again_only_when_idempotent) {
  Database killer(config);
  auto kill_own_connection = [&](Connection& conn) {
    auto id = conn.Query("SELECT CONNECTION_ID()", {});
    BOOST_REQUIRE(id.ok());
    const int64_t thread = id.value()[0].Int(0);
    auto killed = killer.Run([&](Connection& k) {
      return k.Exec("KILL CONNECTION ?", {Param::Int(thread)}).status();
    });
    BOOST_REQUIRE(killed.ok());
  };
  auto count = [&](const std::string& key) {
    auto rows = db.Run([&](Connection& conn) {
      return conn.Query("SELECT COUNT(*) FROM limit_events WHERE scope = 'itest_kill' AND key_ = ?",
                        {Param::Bytes(key)});
    });
    BOOST_REQUIRE(rows.ok());
    return rows.value()[0].Int(0);
  };
  for (const bool idempotent : {true, false}) {
    BOOST_TEST_CONTEXT("idempotent " << idempotent) {
      const std::string key = "kill-" + RandomDigits(12);
      int runs = 0;
      auto work = [&](Connection& conn) -> util::Status {
        ++runs;
        auto seen = conn.Query(
            "SELECT COUNT(*) FROM limit_events WHERE scope = 'itest_kill' AND key_ = ?",
            {Param::Bytes(key)});
        if (!seen.ok()) return seen.error();
        if (seen.value()[0].Int(0) > 0) return util::Status::Ok();  // an earlier run landed
        auto added = conn.Exec("INSERT INTO limit_events (scope, key_, at) VALUES "
                               "('itest_kill', ?, 0)",
                               {Param::Bytes(key)});
        if (!added.ok()) return added.error();
        if (runs == 1) kill_own_connection(conn);
        return util::Status::Ok();
      };
      const util::Status st = idempotent ? db.TransactIdempotent(work) : db.Transact(work);
      BOOST_TEST(st.ok() == idempotent);
      BOOST_TEST(runs == (idempotent ? 2 : 1));
      BOOST_TEST(count(key) == (idempotent ? 1 : 0));
    }
  }
}

BOOST_AUTO_TEST_CASE(health_check_answers) {
  storage::MysqlHealthCheck health(db);
  util::Result<std::string> node = health.AnsweringNode();
  BOOST_REQUIRE(node.ok());
  if (config.db_host.empty() && config.db_nodes.empty()) {
    BOOST_TEST(node.value() == "local");  // the unix socket of the test stack
  } else {
    BOOST_TEST(!node.value().empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::itest
