// phoneverify-admin, the real binary, against the integration stack's database: the
// configuration comes from the PHONEVERIFY_* environment the stack fixture sets, as an
// operator's shell would. Effects are checked through the JSON API (and the database
// where the API cannot see them).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "admin_cli.h"
#include "api_helpers.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/otp_repository.h"
#include "storage/outbox_repository.h"
#include "test_db.h"

namespace phoneverify::itest {
namespace {

constexpr char kSparrowToken[] = "itest-sparrow-token-5c1f";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Masked(const std::string& phone) {
  return phone.substr(0, 2) + "******" + phone.substr(8);
}

Json::Value PhoneBody(const std::string& phone, const std::string& otp = "") {
  Json::Value body;
  body["phone"] = phone;
  if (!otp.empty()) body["otp"] = otp;
  return body;
}

Json::Value Credentials(const TestUser& user) {
  Json::Value body;
  body["username"] = user.username;
  body["password"] = user.password;
  return body;
}

long SendOtp(const TestUser& user, const std::string& phone) {
  return Stack::Get()
      .Client()
      .PostJson("/api/v1/phone/send-otp", PhoneBody(phone), user.token)
      .status;
}

long Verify(const TestUser& user, const std::string& phone, const std::string& otp) {
  return Stack::Get()
      .Client()
      .PostJson("/api/v1/phone/verify-otp", PhoneBody(phone, otp), user.token)
      .status;
}

// GET /api/v1/phone/otp until `delivery` is `state` (bounded wait).
HttpResponse WaitForDelivery(const TestUser& user, const std::string& phone,
                             const std::string& state) {
  HttpResponse status;
  for (int i = 0; i < 200; ++i) {
    status = Stack::Get().Client().Get("/api/v1/phone/otp?phone=" + phone, user.token);
    if (status.json["delivery"].asString() == state) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

// The id in the first column of the outbox table row that shows `phone` in full.
int64_t OutboxIdFor(const std::string& table, const std::string& phone) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    if (!Contains(line, " " + phone + " ")) continue;
    return std::stoll(line.substr(0, line.find(' ')));
  }
  return 0;
}

// "name: N" from the stats output (first occurrence).
int64_t Figure(const std::string& stats, const std::string& name) {
  std::smatch match;
  const std::regex pattern("(^|\\n) *" + name + ": ([0-9]+)");
  if (!std::regex_search(stats, match, pattern)) return -1;
  return std::stoll(match[2].str());
}

void StopDispatcher() {
  const std::string pid_text = ReadFile(Stack::Get().var_dir() + "/run/dispatcher.pid");
  const pid_t pid = static_cast<pid_t>(std::atol(pid_text.c_str()));
  BOOST_REQUIRE(pid > 1);
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGTERM), 0);
  for (int i = 0; i < 400 && ::kill(pid, 0) == 0; ++i) {
    const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty() || Contains(stat, ") Z ")) break;  // gone, or a zombie awaiting init
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Long cooldown and few attempts, so the tool's effects are visible (and not undone by
// time passing); the other suites keep the fixture's defaults.
struct StrictLimits {
  StrictLimits() {
    Stack::Get().RestartApp({{"otp_resend_cooldown", "3600"}, {"otp_max_attempts", "2"}});
  }
  ~StrictLimits() { Stack::Get().RestartApp({}); }
};

BOOST_AUTO_TEST_SUITE(admin_tool)

BOOST_AUTO_TEST_CASE(help_lists_every_command_and_usage_errors_exit_2) {
  AdminRun help = Admin("--help");
  BOOST_TEST(help.status == 0);
  for (const char* command : {"accounts", "account", "deactivate", "reactivate", "unlock", "outbox",
                              "retry", "purge", "stats", "credit", "client"}) {
    BOOST_TEST(Contains(help.out, std::string("\n  ") + command + " "), command);
    AdminRun one = Admin(std::string(command) + " --help");
    BOOST_TEST(one.status == 0, command);
    BOOST_TEST(
        Contains(one.out, std::string("Usage: phoneverify-admin [--config PATH] ") + command),
        command);
    BOOST_TEST(Contains(one.out, "Exit status:"), command);
  }
  BOOST_TEST(Admin("").status == 2);
  BOOST_TEST(Admin("frobnicate").status == 2);
  BOOST_TEST(Admin("accounts --limit 0").status == 2);
  BOOST_TEST(Admin("account").status == 2);  // ACCOUNT missing
  BOOST_TEST(Admin("retry").status == 2);    // neither ids nor --all
  AdminRun bad_config = Admin("accounts", "PHONEVERIFY_OTP_LENGTH=99");
  BOOST_TEST(bad_config.status == 2);
  BOOST_TEST(Contains(bad_config.err, "otp_length"));
}

BOOST_AUTO_TEST_CASE(accounts_and_account_mask_phones_unless_asked) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  BOOST_REQUIRE_EQUAL(Verify(user, phone, SendAndReceive(client, user, phone)), 200);
  const std::string page = "accounts --after " + std::to_string(user.id - 1) + " --limit 1";

  AdminRun list = Admin(page);
  BOOST_TEST(list.status == 0);
  BOOST_TEST(Contains(list.out, user.username));
  BOOST_TEST(Contains(list.out, Masked(phone)));
  BOOST_TEST(!Contains(list.out, phone));
  BOOST_TEST(Contains(list.out, "1 account(s); more with --after " + std::to_string(user.id)));
  BOOST_TEST(Contains(Admin(page + " --show-phone").out, phone));

  AdminRun shown = Admin("account " + user.username);
  BOOST_TEST(shown.status == 0);
  BOOST_TEST(Contains(shown.out, "id:             " + std::to_string(user.id)));
  BOOST_TEST(Contains(shown.out, "phone verified: yes"));
  BOOST_TEST(Contains(shown.out, "verified"));  // the code's state
  BOOST_TEST(Contains(shown.out, "sent"));      // its delivery
  BOOST_TEST(!Contains(shown.out, phone));
  BOOST_TEST(Contains(Admin("account id:" + std::to_string(user.id) + " --show-phone").out, phone));

  AdminRun missing = Admin("account no_such_user_x");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(Contains(missing.err, "no account"));
}

BOOST_AUTO_TEST_CASE(a_number_that_is_an_id_and_a_username_is_ambiguous) {
  auto client = Stack::Get().Client();
  TestUser first = NewUser(client);
  Json::Value body;
  body["username"] = std::to_string(first.id);  // another account named like first's id
  body["password"] = "a long passphrase";
  auto created = client.PostJson("/api/v1/accounts", body);
  BOOST_REQUIRE_EQUAL(created.status, 201);
  const int64_t second = created.json["id"].asInt64();
  const std::string id = std::to_string(first.id);

  AdminRun ambiguous = Admin("account " + id);
  BOOST_TEST(ambiguous.status == 2);
  BOOST_TEST(Contains(ambiguous.err, "id:" + id));
  BOOST_TEST(Contains(Admin("account id:" + id).out, "username:       " + first.username));
  BOOST_TEST(
      Contains(Admin("account user:" + id).out, "id:             " + std::to_string(second)));
}

BOOST_AUTO_TEST_CASE(deactivate_blocks_login_and_tokens_reactivate_allows_login) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  BOOST_REQUIRE_EQUAL(client.Get("/api/v1/me", user.token).status, 200);

  AdminRun off = Admin("deactivate " + user.username);
  BOOST_TEST(off.status == 0);
  BOOST_TEST(Contains(off.out, "revoked 1 API token(s)"));
  BOOST_TEST(client.Get("/api/v1/me", user.token).status == 401);
  auto refused = client.PostJson("/api/v1/auth/token", Credentials(user));
  BOOST_TEST(refused.status == 401);
  BOOST_TEST(refused.json["code"].asString() == "invalid_credentials");
  AdminRun again = Admin("deactivate id:" + std::to_string(user.id));
  BOOST_TEST(again.status == 0);
  BOOST_TEST(Contains(again.out, "already inactive"));
  BOOST_TEST(Contains(
      Admin("accounts --inactive --after " + std::to_string(user.id - 1) + " --limit 1").out,
      user.username));

  AdminRun on = Admin("reactivate " + user.username);
  BOOST_TEST(on.status == 0);
  BOOST_TEST(Contains(on.out, "reactivated"));
  auto login = client.PostJson("/api/v1/auth/token", Credentials(user));
  BOOST_REQUIRE_EQUAL(login.status, 200);
  BOOST_TEST(client.Get("/api/v1/me", login.json["token"].asString()).status == 200);
  BOOST_TEST(client.Get("/api/v1/me", user.token).status == 401);  // revoked for good
  BOOST_TEST(Admin("deactivate no_such_user_y").status == 1);
}

BOOST_AUTO_TEST_CASE(credit_asks_sparrow_and_never_prints_the_token) {
  AdminRun credit = Admin("credit");
  BOOST_TEST(credit.status == 0);
  BOOST_TEST(Contains(credit.out, "credits available: 1000"));
  BOOST_TEST(!Contains(credit.out + credit.err, kSparrowToken));

  AdminRun wrong = Admin("credit", "PHONEVERIFY_SPARROW_TOKEN=wrong-token-7781");
  BOOST_TEST(wrong.status == 1);
  BOOST_TEST(Contains(wrong.err, "sparrow 1002"));
  BOOST_TEST(!Contains(wrong.out + wrong.err, "wrong-token-7781"));

  AdminRun down = Admin("credit", "PHONEVERIFY_SPARROW_CREDIT_URL=http://127.0.0.1:1/v2/credit/");
  BOOST_TEST(down.status == 3);
  BOOST_TEST(!Contains(down.out + down.err, kSparrowToken));
}

BOOST_AUTO_TEST_CASE(stats_count_the_days_signups_sends_verifications_and_failures) {
  AdminRun before = Admin("stats");
  BOOST_REQUIRE_EQUAL(before.status, 0);
  const int64_t invalid_receiver_before = Figure(before.out, "sparrow 1007 \\(Invalid Receiver\\)");

  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string good = UniquePhone("984");
  BOOST_REQUIRE_EQUAL(Verify(user, good, SendAndReceive(client, user, good)), 200);
  const std::string bad = UniquePhone("985");
  Stack::Get().Sparrow().FailNext(1, fakes::FakeSparrow::Error403(1007));
  BOOST_REQUIRE_EQUAL(SendOtp(user, bad), 202);
  BOOST_REQUIRE_EQUAL(WaitForDelivery(user, bad, "failed").json["delivery"].asString(), "failed");

  AdminRun after = Admin("stats --date " + before.out.substr(12, 10));
  BOOST_REQUIRE_EQUAL(after.status, 0);
  BOOST_TEST(Figure(after.out, "signups") == Figure(before.out, "signups") + 1);
  BOOST_TEST(Figure(after.out, "sends") == Figure(before.out, "sends") + 2);
  BOOST_TEST(Figure(after.out, "verifications") == Figure(before.out, "verifications") + 1);
  BOOST_TEST(Figure(after.out, "delivered") >= Figure(before.out, "delivered") + 1);
  // Delivered by which backend of sms_backend (contract section 6).
  BOOST_TEST(Figure(after.out, "by sparrow") >=
             std::max<int64_t>(Figure(before.out, "by sparrow"), 0) + 1);
  BOOST_TEST(Figure(after.out, "failed") >= Figure(before.out, "failed") + 1);
  BOOST_TEST(Figure(after.out, "sparrow 1007 \\(Invalid Receiver\\)") ==
             std::max<int64_t>(invalid_receiver_before, 0) + 1);
  BOOST_TEST(Admin("stats --date 2024-02-30").status == 2);
}

BOOST_AUTO_TEST_SUITE_END()

// Cases that need a long resend cooldown and two attempts per code.
BOOST_AUTO_TEST_SUITE(admin_tool_strict_limits, *boost::unit_test::fixture<StrictLimits>())

BOOST_AUTO_TEST_CASE(unlock_gives_attempts_back_and_ends_the_cooldown) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("980");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  BOOST_REQUIRE_EQUAL(Verify(user, phone, wrong), 400);
  BOOST_REQUIRE_EQUAL(Verify(user, phone, wrong), 400);  // the last attempt
  BOOST_REQUIRE_EQUAL(Verify(user, phone, code), 429);   // locked
  BOOST_REQUIRE_EQUAL(SendOtp(user, phone), 429);        // cooldown

  AdminRun unlock = Admin("unlock +977-" + phone);  // any accepted format
  BOOST_TEST(unlock.status == 0);
  BOOST_TEST(Contains(unlock.out, "unlocked " + Masked(phone)));
  BOOST_TEST(Contains(unlock.out, "1 code(s) given their attempts back"));
  BOOST_TEST(Contains(unlock.out, "cooldown cleared"));
  BOOST_TEST(Verify(user, phone, code) == 200);  // the same code works again

  TestUser other = NewUser(client);
  const std::string second = UniquePhone("981");
  SendAndReceive(client, other, second);
  BOOST_REQUIRE_EQUAL(SendOtp(other, second), 429);
  BOOST_TEST(Admin("unlock " + second).status == 0);
  BOOST_TEST(SendOtp(other, second) == 202);    // no cooldown any more
  BOOST_TEST(!WaitForCode(second, 2).empty());  // delivered before the next case scripts Sparrow
  BOOST_TEST(Admin("unlock 12345").status == 2);
}

BOOST_AUTO_TEST_CASE(retry_of_a_failed_message_lets_the_user_ask_again_at_once) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("982");
  Stack::Get().Sparrow().FailNext(1, fakes::FakeSparrow::Error403(1011));
  BOOST_REQUIRE_EQUAL(SendOtp(user, phone), 202);
  BOOST_REQUIRE_EQUAL(WaitForDelivery(user, phone, "failed").json["delivery"].asString(), "failed");
  BOOST_REQUIRE_EQUAL(SendOtp(user, phone), 429);  // cooldown

  AdminRun failed = Admin("outbox --failed --show-phone");
  BOOST_TEST(failed.status == 0);
  const int64_t id = OutboxIdFor(failed.out, phone);
  BOOST_REQUIRE(id > 0);
  BOOST_TEST(Contains(failed.out, "sparrow 1011"));
  BOOST_TEST(!Contains(Admin("outbox --failed").out, phone));  // masked by default

  AdminRun retry = Admin("retry " + std::to_string(id));
  BOOST_TEST(retry.status == 0);
  BOOST_TEST(Contains(retry.out, "resend allowed"));
  BOOST_TEST(Contains(retry.out, "cannot be sent again"));
  AdminRun twice = Admin("retry " + std::to_string(id));
  BOOST_TEST(twice.status == 1);
  BOOST_TEST(Contains(twice.out, "already allowed"));
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["resend_in"].asInt() == 0);
  BOOST_TEST(status.json["sends_left"].asInt() == 5);  // the failed send was refunded

  const std::string code = SendAndReceive(client, user, phone);
  BOOST_TEST(Verify(user, phone, code) == 200);
  BOOST_TEST(Admin("retry " + std::to_string(id)).status == 1);  // a newer code was sent
  BOOST_TEST(Admin("retry 999999999").status == 1);              // no such message
}

BOOST_AUTO_TEST_CASE(retry_of_a_message_waiting_for_its_next_try_sends_it_now) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("974");
  StopDispatcher();
  BOOST_REQUIRE_EQUAL(SendOtp(user, phone), 202);
  // Do what the dispatcher does after a transient failure: retry in an hour.
  util::Config config = IntegrationDbConfig();
  storage::Database db(config);
  storage::MysqlOutboxRepository outbox(db);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto claimed = outbox.Claim("admin-test-claim", now, 2, 100);
  BOOST_REQUIRE(claimed.ok());
  int64_t id = 0;
  for (const auto& message : claimed.value()) {
    if (message.phone == phone) id = message.id;
  }
  BOOST_REQUIRE(id > 0);
  BOOST_REQUIRE(outbox.MarkRetry(id, "admin-test-claim", now + 3600, "http 500").value());

  AdminRun pending = Admin("outbox --show-phone");
  BOOST_TEST(OutboxIdFor(pending.out, phone) == id);
  BOOST_TEST(Contains(pending.out, "http 500"));
  AdminRun retry = Admin("retry " + std::to_string(id));
  BOOST_TEST(retry.status == 0);
  BOOST_TEST(Contains(retry.out, "requeued"));
  Stack::Get().RestartApp({{"otp_resend_cooldown", "3600"}, {"otp_max_attempts", "2"}});
  const std::string code = WaitForCode(phone, 1);  // due now, not in an hour
  BOOST_REQUIRE(!code.empty());
  BOOST_TEST(Verify(user, phone, code) == 200);
  BOOST_TEST(Admin("retry --all").status == 0);
}

BOOST_AUTO_TEST_CASE(purge_deletes_expired_codes_and_finished_messages_past_retention) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("975");
  // A send two days ago: its code expired long since, its message failed ("expired").
  util::Config config = IntegrationDbConfig();
  storage::Database db(config);
  storage::MysqlOtpRepository otps(db);
  const int64_t then = static_cast<int64_t>(std::time(nullptr)) - 2 * 24 * 3600;
  domain::SendPlan plan;
  plan.who.account_id = user.id;
  plan.phone = phone;
  plan.now = then;
  domain::NewCode code;
  code.record.code_hash = std::string(32, 'h');
  code.record.created_at = then;
  code.record.expires_at = then + 300;
  code.record.max_attempts = 2;
  code.sealed_text = "sealed";
  code.message_expires_at = then + 300;
  auto sent =
      otps.RecordSend(plan, code, [](const domain::SendSnapshot&) { return util::Status::Ok(); });
  BOOST_REQUIRE(sent.ok());
  const auto expired = WaitForDelivery(user, phone, "failed");  // the dispatcher expired it
  BOOST_REQUIRE_EQUAL(expired.json["state"].asString(), "expired");

  AdminRun purge = Admin("purge --retention-days 1");
  BOOST_TEST(purge.status == 0);
  BOOST_TEST(Figure(purge.out, "expired codes") >= 1);
  BOOST_TEST(Figure(purge.out, "finished outbox rows older than 1 days") >= 1);
  BOOST_TEST(Contains(purge.out, "expired web sessions: "));
  auto gone = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(gone.status == 404);
  BOOST_TEST(gone.json["code"].asString() == "otp_not_requested");
  auto rows = db.Run([&](storage::Connection& conn) {
    return conn.Query("SELECT COUNT(*) FROM outbox WHERE id = ?",
                      {storage::Param::Int(sent.value().outbox_id)});
  });
  BOOST_REQUIRE(rows.ok());
  BOOST_TEST(rows.value()[0].Int(0) == 0);
  // A fresh code survives a purge.
  const std::string fresh = UniquePhone("976");
  const std::string live = SendAndReceive(client, user, fresh);
  BOOST_TEST(Admin("purge").status == 0);
  BOOST_TEST(Verify(user, fresh, live) == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
