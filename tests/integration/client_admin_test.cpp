// `phoneverify-admin client ...` (contract section 7 "Clients"), the real binary against
// the integration stack's database; what it stored is checked in the database and through
// storage::MysqlApiClientRepository::FindByKeyHash, the lookup the API authenticates with.
// Also public_host (contract section 2): the WebOTP line on the account API's SMS.
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "admin_cli.h"
#include "api_helpers.h"
#include "storage/api_client_repository.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "test_db.h"
#include "util/crypto.h"
#include "util/webhook_signature.h"

namespace phoneverify::itest {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// The database as the API sees it.
struct Db {
  Db() : config(IntegrationDbConfig()), db(config), clients(db) { BOOST_REQUIRE(util::InitCrypto()); }

  std::optional<domain::ApiClient> Find(const std::string& key, int64_t at) {
    auto found = clients.FindByKeyHash(util::Hash(key), at);
    BOOST_REQUIRE(found.ok());
    return found.value();
  }

  // Every column of the client's row, as bytes.
  std::vector<std::string> Row(const std::string& name) {
    std::vector<std::string> cells;
    auto done = db.Run([&](storage::Connection& conn) -> util::Status {
      auto rows = conn.Query("SELECT * FROM api_clients WHERE name = ?",
                             {storage::Param::Text(name)});
      if (!rows.ok()) return rows.error();
      for (const auto& row : rows.value()) {
        for (size_t i = 0; i < row.size(); ++i) {
          cells.push_back(row.IsNull(i) ? "NULL" : row.Text(i) + std::to_string(row.Int(i)));
        }
      }
      return util::Status::Ok();
    });
    BOOST_REQUIRE(done.ok());
    return cells;
  }

  void Exec(const char* sql, const std::vector<storage::Param>& params) {
    auto done = db.Run([&](storage::Connection& conn) { return conn.Exec(sql, params).status(); });
    BOOST_REQUIRE(done.ok());
  }

  util::Config config;
  storage::Database db;
  storage::MysqlApiClientRepository clients;
};

// Creates client `name` with `flags`; its "key: value" output.
std::map<std::string, std::string> Create(const std::string& name, const std::string& flags = "") {
  AdminRun run = Admin("client create " + name + " " + flags);
  BOOST_REQUIRE_EQUAL(run.status, 0);
  return run.fields;
}

BOOST_AUTO_TEST_SUITE(client_admin)

BOOST_AUTO_TEST_CASE(help_lists_client_and_its_actions) {
  AdminRun help = Admin("--help");
  BOOST_TEST(help.status == 0);
  BOOST_TEST(Contains(help.out, "\n  client "));
  AdminRun one = Admin("client --help");
  BOOST_TEST(one.status == 0);
  BOOST_TEST(Contains(one.out, "Usage: phoneverify-admin [--config PATH] client"));
  for (const char* part : {"create", "list", "show", "update", "rotate-key", "disable", "enable",
                           "--webhook-url", "--brand", "--code-length", "--ttl", "--max-attempts",
                           "--max-sends-per-day", "--grace", "Exit status:"}) {
    BOOST_TEST(Contains(one.out, part), part);
  }
}

BOOST_AUTO_TEST_CASE(create_prints_key_and_secret_and_stores_neither_readable) {
  auto created = Create("shop.main", "--webhook-url https://shop.example/hooks?x=1 "
                                     "--brand 'Shop One' --code-length 8 --max-sends-per-day 50");
  const std::string key = created["api_key"];
  const std::string secret = created["webhook_secret"];
  BOOST_TEST(std::regex_match(key, std::regex("pvk_[0-9a-f]{64}")), key);
  BOOST_TEST(created["name"] == "shop.main");
  BOOST_TEST(std::stoll(created["id"]) > 0);
  const auto secret_key = util::ParseWebhookSecret(secret);
  BOOST_REQUIRE(secret_key.has_value());
  BOOST_TEST(secret_key->size() == 32u);
  BOOST_TEST(created["code_length"] == "8");
  BOOST_TEST(created["webhook"] == "on");

  Db db;
  for (const std::string& cell : db.Row("shop.main")) {
    BOOST_TEST(!Contains(cell, key.substr(4)), "the api key is stored readable");
    BOOST_TEST(!Contains(cell, secret.substr(6)), "the webhook secret is stored readable");
    BOOST_TEST(!Contains(cell, *secret_key), "the webhook key is stored readable");
  }
  const auto client = db.Find(key, Now());
  BOOST_REQUIRE(client.has_value());
  BOOST_TEST(client->id == std::stoll(created["id"]));
  BOOST_TEST(client->brand.value_or("") == "Shop One");
  BOOST_TEST(client->code_length.value_or(0) == 8);
  BOOST_TEST(client->max_sends_per_day.value_or(0) == 50);
  BOOST_TEST(!client->ttl.has_value());
  BOOST_TEST(!client->max_attempts.has_value());
  BOOST_TEST(client->webhook_url == "https://shop.example/hooks?x=1");
  BOOST_TEST(!client->disabled);
  BOOST_TEST(!db.Find("pvk_" + std::string(64, '0'), Now()).has_value());

  AdminRun again = Admin("client create shop.main");
  BOOST_TEST(again.status == 1);
  BOOST_TEST(Contains(again.err, "already exists"), again.err);
  // Two clients never share a key or a secret.
  auto other = Create("shop-other");
  BOOST_TEST(other["api_key"] != key);
  BOOST_TEST(other["webhook_secret"] != secret);
}

BOOST_AUTO_TEST_CASE(list_and_show_print_settings_defaults_and_the_secret) {
  auto created = Create("show_me", "--ttl 120 --max-attempts 0");
  AdminRun list = Admin("client list");
  BOOST_TEST(list.status == 0);
  BOOST_TEST(Contains(list.out, " show_me "), list.out);
  BOOST_TEST(Contains(list.out, "NAME"));
  AdminRun show = Admin("client show show_me");
  BOOST_TEST(show.status == 0);
  BOOST_TEST(show.fields["id"] == created["id"]);
  BOOST_TEST(show.fields["brand"] == "phoneverify (default)");
  BOOST_TEST(show.fields["code_length"] == "6 (default)");
  BOOST_TEST(show.fields["ttl"] == "120");
  BOOST_TEST(show.fields["max_attempts"] == "0 (unlimited)");
  BOOST_TEST(Contains(show.fields["max_sends_per_day"], "(default"));
  BOOST_TEST(show.fields["webhook"] == "none");
  BOOST_TEST(show.fields["disabled"] == "no");
  BOOST_TEST(show.fields["webhook_secret"] == created["webhook_secret"]);
  BOOST_TEST(!Contains(show.out, created["api_key"]));
  AdminRun missing = Admin("client show nobody");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(Contains(missing.err, "no client 'nobody'"));
}

BOOST_AUTO_TEST_CASE(update_sets_and_an_empty_value_unsets) {
  auto created = Create("upd", "--brand Acme --ttl 90 --code-length 4");
  Db db;
  AdminRun update = Admin("client update upd --brand '' --ttl 600 --max-sends-per-day 7");
  BOOST_TEST(update.status == 0);
  BOOST_TEST(update.fields["brand"] == "phoneverify (default)");
  BOOST_TEST(update.fields["ttl"] == "600");
  BOOST_TEST(update.fields["code_length"] == "4");
  auto client = db.Find(created["api_key"], Now());
  BOOST_REQUIRE(client.has_value());
  BOOST_TEST(!client->brand.has_value());
  BOOST_TEST(client->ttl.value_or(0) == 600);
  BOOST_TEST(client->code_length.value_or(0) == 4);
  BOOST_TEST(client->max_sends_per_day.value_or(0) == 7);
  BOOST_TEST(Admin("client update upd --code-length= --ttl ''").status == 0);
  client = db.Find(created["api_key"], Now());
  BOOST_TEST(!client->code_length.has_value());
  BOOST_TEST(!client->ttl.has_value());
  BOOST_TEST(client->max_sends_per_day.value_or(0) == 7);  // untouched

  BOOST_TEST(Admin("client update upd").status == 2);  // nothing to change
  BOOST_TEST(Admin("client update nobody --ttl 5").status == 1);
}

BOOST_AUTO_TEST_CASE(a_new_webhook_url_turns_a_webhook_gone_410_back_on) {
  auto created = Create("gone", "--webhook-url http://127.0.0.1:9/hook");
  Db db;
  db.Exec("UPDATE api_clients SET webhook_disabled_at = ? WHERE name = ?",
          {storage::Param::Int(Now() - 60), storage::Param::Text("gone")});
  AdminRun show = Admin("client show gone");
  BOOST_TEST(Contains(show.fields["webhook"], "off (410 Gone at "), show.fields["webhook"]);
  BOOST_TEST(db.Find(created["api_key"], Now())->webhook_disabled);
  // Another setting leaves it off; a webhook URL (even the same one) turns it on.
  BOOST_TEST(Admin("client update gone --ttl 60").status == 0);
  BOOST_TEST(db.Find(created["api_key"], Now())->webhook_disabled);
  AdminRun update = Admin("client update gone --webhook-url https://gone.example/new");
  BOOST_TEST(update.status == 0);
  BOOST_TEST(update.fields["webhook"] == "on");
  const auto client = db.Find(created["api_key"], Now());
  BOOST_TEST(!client->webhook_disabled);
  BOOST_TEST(client->webhook_url == "https://gone.example/new");
  // An empty URL removes the webhook.
  BOOST_TEST(Admin("client update gone --webhook-url ''").fields["webhook"] == "none");
}

BOOST_AUTO_TEST_CASE(rotate_key_keeps_the_old_key_for_the_grace_only) {
  auto created = Create("rot");
  const std::string first = created["api_key"];
  Db db;
  AdminRun rotated = Admin("client rotate-key rot --grace 100");
  BOOST_TEST(rotated.status == 0);
  const std::string second = rotated.fields["api_key"];
  BOOST_TEST(std::regex_match(second, std::regex("pvk_[0-9a-f]{64}")), second);
  BOOST_TEST(second != first);
  const int64_t now = Now();
  BOOST_TEST(db.Find(first, now).has_value());  // within its grace
  BOOST_TEST(db.Find(second, now).has_value());
  BOOST_TEST(db.Find(first, now).value().id == db.Find(second, now).value().id);
  BOOST_TEST(!db.Find(first, now + 101).has_value());  // grace over
  BOOST_TEST(db.Find(second, now + 101).has_value());
  BOOST_TEST(Contains(Admin("client show rot").out, "previous_key: works until"));

  // The default grace is a day; rotating again ends the first key at once.
  AdminRun third_run = Admin("client rotate-key rot");
  const std::string third = third_run.fields["api_key"];
  BOOST_TEST(!db.Find(first, Now()).has_value());
  BOOST_TEST(db.Find(second, Now() + 86000).has_value());
  BOOST_TEST(!db.Find(second, Now() + 86500).has_value());
  BOOST_TEST(db.Find(third, Now()).has_value());
  // --grace 0: the previous key stops now.
  const std::string fourth = Admin("client rotate-key rot --grace 0").fields["api_key"];
  BOOST_TEST(!db.Find(third, Now()).has_value());
  BOOST_TEST(db.Find(fourth, Now()).has_value());
  BOOST_TEST(Admin("client rotate-key nobody").status == 1);
}

BOOST_AUTO_TEST_CASE(disable_and_enable_flip_the_flag_the_api_reads) {
  auto created = Create("dis");
  Db db;
  AdminRun disabled = Admin("client disable dis");
  BOOST_TEST(disabled.status == 0);
  const auto client = db.Find(created["api_key"], Now());
  BOOST_REQUIRE(client.has_value());  // found, so the API can answer 401 for it
  BOOST_TEST(client->disabled);
  BOOST_TEST(Admin("client show dis").fields["disabled"] == "yes");
  AdminRun again = Admin("client disable dis");
  BOOST_TEST(again.status == 0);
  BOOST_TEST(Contains(again.out, "already disabled"));
  BOOST_TEST(Admin("client enable dis").status == 0);
  BOOST_TEST(!db.Find(created["api_key"], Now())->disabled);
  BOOST_TEST(Admin("client disable nobody").status == 1);
}

BOOST_AUTO_TEST_CASE(bad_flags_exit_2_naming_the_flag_and_its_limit) {
  const std::string long_url = "https://x.example/" + std::string(2040, 'a');
  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"create b1 --code-length 3", {"--code-length", "4 to 10"}},
      {"create b1 --code-length 11", {"--code-length", "4 to 10"}},
      {"create b1 --code-length six", {"--code-length"}},
      {"create b1 --ttl 0", {"--ttl", "1"}},
      {"create b1 --ttl=-5", {"--ttl"}},
      {"create b1 --max-attempts=-1", {"--max-attempts", "0"}},
      {"create b1 --max-sends-per-day 1.5", {"--max-sends-per-day"}},
      {"create b1 --webhook-url ftp://x.example/", {"--webhook-url", "http"}},
      {"create b1 --webhook-url 'https://x.example/a b'", {"--webhook-url", "spaces"}},
      {"create b1 --webhook-url https://", {"--webhook-url"}},
      {"create b1 --webhook-url " + long_url, {"--webhook-url", "2048"}},
      {"create b1 --brand 'A brand that is too long'", {"--brand", "20"}},
      {"create b1 --brand 'caf\xc3\xa9'", {"--brand", "GSM-7"}},
      {"create b1 --brand 'a`b'", {"--brand", "GSM-7"}},
      {"create 'bad name!'", {"NAME", "64"}},
      {"create " + std::string(65, 'n'), {"NAME", "64"}},
      {"create", {"NAME"}},
      {"update b1 --ttl 0", {"--ttl"}},
      {"rotate-key b1 --grace=-1", {"--grace"}},
      {"rotate-key b1 --grace soon", {"--grace"}},
      {"show b1 --ttl 5", {"--ttl", "show"}},
      {"create b1 --grace 5", {"--grace"}},
      {"list b1", {"NAME"}},
      {"frobnicate", {"frobnicate"}},
      {"", {"action"}},
  };
  for (const auto& [args, parts] : bad) {
    AdminRun run = Admin("client " + args);
    BOOST_TEST(run.status == 2, args);
    for (const std::string& part : parts) BOOST_TEST(Contains(run.err, part), args << ": " << run.err);
  }
  BOOST_TEST(!Contains(Admin("client list").out, " b1 "));  // nothing was created
}

BOOST_AUTO_TEST_CASE(a_20_character_brand_fits) {
  AdminRun run = Admin("client create brand20 --brand 'ABCDEFGHIJ KLMNOPQR!'");
  BOOST_TEST(run.status == 0);
  BOOST_TEST(run.fields["brand"] == "ABCDEFGHIJ KLMNOPQR!");
}

BOOST_AUTO_TEST_SUITE_END()

// public_host: every code SMS, the account API's too, ends with the WebOTP line.
BOOST_AUTO_TEST_SUITE(public_host_sms)

BOOST_AUTO_TEST_CASE(every_code_sms_ends_with_the_webotp_line) {
  ScopedAppConfig config(std::map<std::string, std::string>{{"public_host", "verify.example.np"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string code = SendAndReceive(client, user, phone);
  BOOST_REQUIRE(!code.empty());
  std::string text;
  for (const auto& sms : Stack::Get().Sparrow().Requests()) {
    if (sms.to == phone) text = sms.text;
  }
  BOOST_TEST(text.rfind("phoneverify code: " + code, 0) == 0u, text);
  BOOST_TEST(text.substr(text.rfind('\n') + 1) == "@verify.example.np #" + code, text);
}

BOOST_AUTO_TEST_CASE(a_bad_public_host_stops_the_tools_naming_the_key) {
  AdminRun run = Admin("client list", "PHONEVERIFY_PUBLIC_HOST=https://verify.example.np");
  BOOST_TEST(run.status == 2);
  BOOST_TEST(Contains(run.err, "public_host"), run.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
