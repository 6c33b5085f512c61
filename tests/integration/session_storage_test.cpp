// storage::MysqlSessionRepository against the real MariaDB: hashed ids, the owner join,
// touching, deleting, and pruning by idle and absolute age (with LIMIT).
#include <boost/test/unit_test.hpp>
#include <ctime>
#include <random>
#include <string>

#include "storage/account_repository.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/session_repository.h"
#include "test_db.h"
#include "util/crypto.h"

namespace phoneverify::itest {
namespace {

std::string RandomHash() {
  static std::mt19937_64 rng(std::random_device{}());
  std::string bytes(32, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  return bytes;
}

struct SessionDb {
  SessionDb() : config(IntegrationDbConfig()), db(config) {}
  util::Config config;
  storage::Database db;
  storage::MysqlAccountRepository accounts{db};
  storage::MysqlSessionRepository sessions{db};

  domain::Account NewAccount() {
    domain::NewAccount in;
    in.username = "sess_" + util::HexEncode(RandomHash()).substr(0, 16);
    in.username_key = in.username;
    in.password_hash = "$argon2id$v=19$m=12288,t=3,p=1$fake";
    in.pending_phone = "9840000000";
    in.now = static_cast<int64_t>(std::time(nullptr));
    auto created = accounts.Create(in);
    BOOST_REQUIRE(created.ok());
    return created.value();
  }
};

BOOST_FIXTURE_TEST_SUITE(session_storage, SessionDb)

BOOST_AUTO_TEST_CASE(create_find_touch_delete) {
  const domain::Account owner = NewAccount();
  const std::string id_hash = RandomHash();
  BOOST_REQUIRE(sessions.Create(id_hash, owner.id, 1000).ok());
  auto found = sessions.Find(id_hash);
  BOOST_REQUIRE(found.ok());
  BOOST_REQUIRE(found.value().has_value());
  BOOST_TEST(found.value()->account.username == owner.username);
  BOOST_TEST(found.value()->account.pending_phone == "9840000000");
  BOOST_TEST(found.value()->created_at == 1000);
  BOOST_TEST(found.value()->last_seen_at == 1000);

  BOOST_REQUIRE(sessions.Touch(id_hash, 1500).ok());
  BOOST_REQUIRE(sessions.Touch(id_hash, 1200).ok());  // never backwards
  BOOST_TEST(sessions.Find(id_hash).value()->last_seen_at == 1500);

  BOOST_TEST(sessions.Delete(id_hash).value() == true);
  BOOST_TEST(sessions.Delete(id_hash).value() == false);
  BOOST_TEST(!sessions.Find(id_hash).value().has_value());
}

BOOST_AUTO_TEST_CASE(unknown_ids_and_inactive_owners_find_nothing) {
  BOOST_TEST(!sessions.Find(RandomHash()).value().has_value());
  const domain::Account owner = NewAccount();
  const std::string id_hash = RandomHash();
  BOOST_REQUIRE(sessions.Create(id_hash, owner.id, 1000).ok());
  BOOST_REQUIRE(db.Run([&](storage::Connection& conn) {
                    return conn
                        .Exec("UPDATE accounts SET is_active = 0 WHERE id = ?",
                              {storage::Param::Int(owner.id)})
                        .status();
                  }).ok());
  BOOST_TEST(!sessions.Find(id_hash).value().has_value());
}

BOOST_AUTO_TEST_CASE(pruning_removes_idle_and_old_sessions_up_to_the_limit) {
  const domain::Account owner = NewAccount();
  // Times far in the past, so the live sessions of other tests are never touched.
  const std::string idle = RandomHash();
  const std::string old = RandomHash();
  const std::string fresh = RandomHash();
  BOOST_REQUIRE(sessions.Create(idle, owner.id, 100).ok());
  BOOST_REQUIRE(sessions.Create(old, owner.id, 50).ok());
  BOOST_REQUIRE(sessions.Touch(old, 900).ok());
  BOOST_REQUIRE(sessions.Create(fresh, owner.id, 800).ok());
  // idle: last seen at 100 <= 500; old: created at 50 <= 60; fresh: neither.
  auto first = sessions.DeleteExpired(500, 60, 1);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first.value() == 1);
  auto rest = sessions.DeleteExpired(500, 60, 100);
  BOOST_REQUIRE(rest.ok());
  BOOST_TEST(rest.value() == 1);
  BOOST_TEST(!sessions.Find(idle).value().has_value());
  BOOST_TEST(!sessions.Find(old).value().has_value());
  BOOST_TEST(sessions.Find(fresh).value().has_value());
}

BOOST_AUTO_TEST_CASE(set_pending_phone_changes_the_number_to_verify) {
  const domain::Account owner = NewAccount();
  BOOST_REQUIRE(accounts.SetPendingPhone(owner.id, "9811234567").ok());
  auto reread = accounts.FindById(owner.id);
  BOOST_REQUIRE(reread.ok() && reread.value().has_value());
  BOOST_TEST(reread.value()->pending_phone == "9811234567");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
