// The send's rules decided twice, tested against each other (issue 16): the C++ decider
// alone over the in-memory repository (what the unit tests use), and the send procedure
// (sql/016_send_procedure.sql, 017, which accept only what the decider accepts) with the
// decider over MariaDB. One table of sends and guesses runs through both, with every
// limit switched on and small; each step must give the same answer through both, and the
// answer the table names: acceptance with the same receipt, or the same refusal with the
// same Retry-After. A disagreement between procedure and decider would show as a 500
// (MysqlOtpRepository answers it as an internal error).
#include <boost/test/unit_test.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "domain/verification_service.h"
#include "fakes/memory_repositories.h"
#include "fakes/test_policy.h"
#include "storage/account_repository.h"
#include "storage/database.h"
#include "storage/otp_repository.h"
#include "test_db.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/random.h"

namespace phoneverify::itest {
namespace {

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(std::random_device{}());
  return rng;
}

std::string Digits(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + Rng()() % 10));
  return out;
}

domain::OtpPolicy SmallLimits() {
  domain::OtpPolicy policy = fakes::TestOtpPolicy();
  policy.otp_resend_cooldown = 60;
  policy.otp_max_sends_per_day = 3;
  policy.account_max_sends_per_day = 5;
  policy.ip_max_sends_per_hour = 7;
  policy.prefix_max_sends_per_hour = 9;
  policy.prefix_digits = 7;
  policy.sms_daily_budget = 11;
  return policy;
}

enum class Act { kSend, kVerify };

struct Step {
  int64_t at;          // seconds after the table's start
  char who;            // 'A'..'D'
  Act act;
  int phone;           // index into the phones
  int ip;              // index into the addresses
  const char* expect;  // "ok" or the error code
};

// What one step answered, in a form both worlds can be compared by.
struct Answer {
  std::string code = "ok";
  int64_t retry_after = 0;
  std::optional<int64_t> sends_left;

  bool operator==(const Answer&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Answer& a) {
  return out << a.code << " retry_after=" << a.retry_after
             << " sends_left=" << (a.sends_left ? std::to_string(*a.sends_left) : "-");
}

// One backend: a repository, its accounts, and a service on a fake clock. Both worlds
// draw codes from the same seed, so the n-th send makes the same code in both.
struct World {
  World(domain::OtpRepository& otps, const domain::OtpPolicy& policy)
      : service(otps, policy, clock, random) {}
  util::FakeClock clock;
  util::SeededRandom random{20261206};
  domain::VerificationService service;
  std::map<char, domain::Account> accounts;
  std::map<char, std::string> tokens;  // who sends by API token: its hash

  util::Result<domain::SendReceipt> Send(char who, const std::string& phone,
                                         const std::string& ip) {
    if (!tokens.count(who)) return service.SendCode(accounts.at(who), phone, ip, "req-send-rules");
    auto parsed = service.ParseSendPhone(phone);
    if (!parsed.ok()) return parsed.error();
    return service.SendCode(domain::Caller{0, tokens.at(who)}, parsed.value(), ip,
                            "req-send-rules", domain::Language::kEnglish, "");
  }

  Answer Run(const Step& step, const std::string& phone, const std::string& ip,
             const std::string& code) {
    Answer answer;
    const domain::Account& account = accounts.at(step.who);
    if (step.act == Act::kSend) {
      auto sent = Send(step.who, phone, ip);
      if (sent.ok()) {
        answer.sends_left = sent.value().sends_left;
        return answer;
      }
      answer.code = sent.error().code;
      answer.retry_after = sent.error().retry_after.value_or(0);
      return answer;
    }
    auto verified = service.VerifyCode(account, phone, code);
    if (!verified.ok()) answer.code = verified.error().code;
    return answer;
  }
};

BOOST_AUTO_TEST_SUITE(send_rules)

BOOST_AUTO_TEST_CASE(the_send_procedure_and_the_decider_answer_every_step_alike) {
  const domain::OtpPolicy policy = SmallLimits();
  // A far-future day of its own: the budget and the number block are counted across the
  // whole database, and no other test sends in this window.
  const int64_t start = std::time(nullptr) + 200LL * 365 * 86400 +
                        static_cast<int64_t>(Rng()() % 1'000'000) * 2 * 86400;

  fakes::MemoryStore store;
  fakes::MemoryOtpRepository memory_otps{store};
  World memory(memory_otps, policy);

  util::Config config = IntegrationDbConfig();
  storage::Database db(config);
  storage::MysqlAccountRepository mysql_accounts{db};
  storage::MysqlOtpRepository mysql_otps{db};
  World mysql(mysql_otps, policy);

  for (char who : {'A', 'B', 'C', 'D'}) {
    const std::string name = std::string("rules_") + who + "_" + Digits(12);
    fakes::MemoryStore::AccountRow row;
    row.account.id = store.next_account_id++;
    row.account.username = name;
    row.username_key = name;
    store.accounts[row.account.id] = row;
    memory.accounts[who] = row.account;

    domain::NewAccount in;
    in.username = name;
    in.username_key = name;
    in.email = name + "@example.com";
    in.password_hash = "$argon2id$v=19$m=12288,t=3,p=1$fake";
    in.now = start;
    auto created = mysql_accounts.Create(in);
    BOOST_REQUIRE(created.ok());
    mysql.accounts[who] = created.value();
    // A and B send by API token (resolved in the send's one round trip), C and D by an
    // account already resolved (a web session).
    if (who == 'A' || who == 'B') {
      const std::string token_hash = util::Hash(name + "-token");
      store.tokens[token_hash] = row.account.id;
      memory.tokens[who] = token_hash;
      BOOST_REQUIRE(mysql_accounts.StoreToken(token_hash, created.value().id, start).ok());
      mysql.tokens[who] = token_hash;
    }
  }
  // Phones 0-7 share one number block (prefix_digits 7); 8-10 are each in another.
  const std::string block = "984" + Digits(4);
  std::vector<std::string> phones;
  for (int i = 0; i < 8; ++i) phones.push_back(block + std::to_string(100 + i));
  for (const char* other : {"985", "986", "980"}) phones.push_back(other + Digits(7));
  const std::vector<std::string> ips = {"10.77.1." + std::to_string(Rng()() % 250),
                                        "10.77.2." + std::to_string(Rng()() % 250),
                                        "10.77.3." + std::to_string(Rng()() % 250)};

  const std::vector<Step> table = {
      {0, 'A', Act::kSend, 0, 0, "ok"},
      {10, 'A', Act::kSend, 0, 0, "resend_too_soon"},
      {70, 'A', Act::kSend, 0, 0, "ok"},
      {140, 'A', Act::kSend, 0, 0, "ok"},
      {210, 'A', Act::kSend, 0, 0, "send_limit_reached"},  // phone_day 3
      {220, 'B', Act::kSend, 1, 0, "ok"},
      {225, 'B', Act::kVerify, 1, 0, "ok"},                  // B owns phone 1
      {230, 'A', Act::kSend, 1, 0, "phone_taken"},           // charged: A's day, the IP's hour
      {235, 'B', Act::kSend, 1, 0, "phone_already_verified"},
      {240, 'A', Act::kSend, 2, 0, "ok"},                    // A's fifth
      {245, 'A', Act::kSend, 3, 0, "send_limit_reached"},    // account_day 5
      {250, 'A', Act::kSend, 1, 0, "send_limit_reached"},    // taken, but A's day is full
      {255, 'C', Act::kSend, 3, 0, "ok"},                    // the IP's seventh
      {260, 'C', Act::kSend, 4, 0, "send_limit_reached"},    // ip_send_hour 7
      {265, 'C', Act::kSend, 4, 1, "ok"},
      {270, 'C', Act::kSend, 5, 1, "ok"},
      {275, 'C', Act::kSend, 6, 1, "ok"},                    // the block's ninth
      {280, 'C', Act::kSend, 7, 1, "send_limit_reached"},    // prefix_hour 9
      {285, 'D', Act::kSend, 8, 2, "ok"},                    // the budget's tenth
      {290, 'D', Act::kSend, 9, 2, "ok"},                    // eleventh
      {295, 'D', Act::kSend, 10, 2, "sms_budget_exhausted"}, // sms_daily_budget 11
      {3700, 'C', Act::kSend, 7, 1, "sms_budget_exhausted"}, // the block's hour is over
      {3710, 'A', Act::kSend, 0, 0, "send_limit_reached"},   // phone_day, a day long
  };
  std::string last_code;
  for (size_t i = 0; i < table.size(); ++i) {
    const Step& step = table[i];
    memory.clock.Set(start + step.at);
    mysql.clock.Set(start + step.at);
    const std::string& phone = phones.at(static_cast<size_t>(step.phone));
    const std::string& ip = ips.at(static_cast<size_t>(step.ip));
    const Answer from_memory = memory.Run(step, phone, ip, last_code);
    if (step.act == Act::kSend && from_memory.code == "ok") {
      last_code = fakes::LastSmsCode(store, policy);
    }
    const Answer from_mysql = mysql.Run(step, phone, ip, last_code);
    BOOST_TEST_CONTEXT("step " << i << " at +" << step.at << " " << step.who << " phone "
                               << step.phone) {
      BOOST_TEST(from_memory.code == step.expect);
      BOOST_TEST(from_mysql == from_memory);
    }
  }
  // The charged refusal (phone_taken) counted in both: A's day was full at its fifth send.
  auto day = mysql_otps.Usage({{"account_day", std::to_string(mysql.accounts['A'].id),
                                domain::kDay, 5}},
                              start + 3710);
  BOOST_REQUIRE(day.ok());
  BOOST_TEST(day.value()[0].count == 5);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
