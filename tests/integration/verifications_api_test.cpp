// The verification API for backends (contract section 7) on the real stack: API keys,
// the verification resource and its status machine, limits shared with the account API,
// Idempotency-Key replays, the events stored for webhooks, and hostile bodies.
#include <boost/test/unit_test.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "test_db.h"
#include "util/crypto.h"
#include "util/random.h"

namespace phoneverify::itest {
namespace {

struct ApiClientRow {
  int64_t id = 0;
  std::string key;
};

// A client row made directly (the admin command is tested in client_admin_test.cpp).
ApiClientRow NewClient(const std::string& webhook_url = "", bool disabled = false,
                       std::optional<int64_t> ttl = std::nullopt) {
  static int n = 0;
  util::InitCrypto();
  util::SodiumRandom random;
  ApiClientRow c;
  c.key = "pvk_" + random.Hex(32);
  storage::Database db(IntegrationDbConfig());
  const std::string name = UniqueName("client") + std::to_string(++n);
  auto done = db.Run([&](storage::Connection& conn) {
    return conn.Exec(
        "INSERT INTO api_clients (name, key_hash, webhook_url, webhook_secret_sealed, "
        "disabled, ttl, created_at, updated_at) VALUES (?, ?, ?, 'x', ?, ?, 0, 0)",
        {storage::Param::Text(name), storage::Param::Bytes(util::Hash(c.key)),
         storage::Param::Text(webhook_url), storage::Param::Int(disabled ? 1 : 0),
         ttl ? storage::Param::Int(*ttl) : storage::Param::Null()});
  });
  BOOST_REQUIRE(done.ok());
  c.id = static_cast<int64_t>(done.value().insert_id);
  return c;
}

HttpResponse Post(const std::string& path, const Json::Value& body, const std::string& key,
                  const std::string& idempotency_key = "") {
  HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = ToJson(body);
  request.headers = {"Content-Type: application/json", "Authorization: Bearer " + key};
  if (!idempotency_key.empty()) request.headers.push_back("Idempotency-Key: " + idempotency_key);
  return Stack::Get().Client().Send(request);
}

Json::Value PhoneBody(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

Json::Value CodeBody(const std::string& code) {
  Json::Value body;
  body["code"] = code;
  return body;
}

std::string Path(const HttpResponse& started, const std::string& action = "") {
  std::string path = "/api/v1/verifications/" + started.json["id"].asString();
  return action.empty() ? path : path + "/" + action;
}

int64_t CountRows(const std::string& sql, int64_t id) {
  storage::Database db(IntegrationDbConfig());
  auto rows = db.Run([&](storage::Connection& conn) {
    return conn.Query(sql.c_str(), {storage::Param::Int(id)});
  });
  BOOST_REQUIRE(rows.ok());
  return rows.value().empty() ? 0 : rows.value()[0].Int(0);
}

BOOST_AUTO_TEST_SUITE(verifications_api)

BOOST_AUTO_TEST_CASE(start_check_approve_and_read_back) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("984");
  Json::Value body = PhoneBody("+977-" + phone);
  body["reference"] = "user-42";
  auto started = Post("/api/v1/verifications", body, client.key);
  BOOST_REQUIRE_MESSAGE(started.status == 201, started.body);
  const Json::Value& v = started.json;
  BOOST_TEST(v["id"].asString().rfind("ver_", 0) == 0u);
  BOOST_TEST(v["id"].asString().size() == 36u);
  BOOST_TEST(v["status"].asString() == "pending");
  BOOST_TEST(v["phone"].asString() == phone);
  BOOST_TEST(v["operator"].asString() == "NTC");
  BOOST_TEST(v["reference"].asString() == "user-42");
  BOOST_TEST(v["lang"].asString() == "en");
  BOOST_TEST(v["expires_in"].asInt() == 300);
  BOOST_TEST(v["attempts_left"].asInt() == 5);
  BOOST_TEST(v["delivery"].asString() == "queued");
  BOOST_TEST(v["delivery_error"].isNull());
  BOOST_TEST(v["created_at"].asString().back() == 'Z');
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE(!code.empty());

  auto wrong = Post(Path(started, "check"), CodeBody(WrongCode(code)), client.key);
  BOOST_TEST(wrong.status == 400);
  BOOST_TEST(wrong.json["code"].asString() == "otp_invalid");
  BOOST_TEST(wrong.json["attempts_left"].asInt() == 4);
  auto right = Post(Path(started, "check"), CodeBody(InDevanagari(code)), client.key);
  BOOST_REQUIRE_MESSAGE(right.status == 200, right.body);
  BOOST_TEST(right.json["status"].asString() == "approved");
  BOOST_TEST(right.json["attempts_left"].asInt() == 4);
  auto again = Post(Path(started, "check"), CodeBody(code), client.key);
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.json["code"].asString() == "verification_not_pending");
  BOOST_TEST(again.json["details"].asString().find("approved") != std::string::npos);
  BOOST_TEST(again.HasErrorShape());

  auto read = Stack::Get().Client().Get(Path(started), client.key);
  BOOST_TEST(read.status == 200);
  BOOST_TEST(read.json["status"].asString() == "approved");
  BOOST_TEST(read.json["delivery"].asString() == "sent");
}

BOOST_AUTO_TEST_CASE(api_keys_and_account_tokens_work_only_on_their_own_routes) {
  ApiClientRow client = NewClient();
  auto http = Stack::Get().Client();
  TestUser user = NewUser(http);
  const std::string phone = UniquePhone("985");
  auto with_token = Post("/api/v1/verifications", PhoneBody(phone), user.token);
  BOOST_TEST(with_token.status == 401);
  BOOST_TEST(with_token.json["code"].asString() == "not_authenticated");
  BOOST_TEST(http.Get("/api/v1/me", client.key).status == 401);
  auto send = http.PostJson("/api/v1/phone/send-otp", PhoneBody(phone), client.key);
  BOOST_TEST(send.status == 401);
  BOOST_TEST(Post("/api/v1/verifications", PhoneBody(phone), "pvk_" + std::string(64, 'a'))
                 .status == 401);
  HttpRequest bare{"POST", "/api/v1/verifications", ToJson(PhoneBody(phone)),
                   {"Content-Type: application/json"}};
  BOOST_TEST(http.Send(bare).status == 401);
  ApiClientRow disabled = NewClient("", true);
  BOOST_TEST(Post("/api/v1/verifications", PhoneBody(phone), disabled.key).status == 401);
  // "Token pvk_..." works as well as Bearer.
  HttpRequest token_scheme{"POST", "/api/v1/verifications", ToJson(PhoneBody(phone)),
                           {"Content-Type: application/json", "Authorization: Token " + client.key}};
  BOOST_TEST(http.Send(token_scheme).status == 201);
  BOOST_TEST(SmsCountFor(phone) <= 1u);
}

BOOST_AUTO_TEST_CASE(another_clients_verification_is_not_found) {
  ApiClientRow owner = NewClient();
  ApiClientRow other = NewClient();
  auto started = Post("/api/v1/verifications", PhoneBody(UniquePhone("986")), owner.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  auto http = Stack::Get().Client();
  auto read = http.Get(Path(started), other.key);
  BOOST_TEST(read.status == 404);
  BOOST_TEST(read.json["code"].asString() == "not_found");
  BOOST_TEST(Post(Path(started, "check"), CodeBody("123456"), other.key).status == 404);
  BOOST_TEST(Post(Path(started, "cancel"), Json::Value(Json::objectValue), other.key).status ==
             404);
  BOOST_TEST(Post(Path(started, "resend"), Json::Value(Json::objectValue), other.key).status ==
             404);
  BOOST_TEST(http.Get("/api/v1/verifications/ver_nothing", owner.key).status == 404);
  BOOST_TEST(http.Get(Path(started), owner.key).json["status"].asString() == "pending");
}

BOOST_AUTO_TEST_CASE(parallel_wrong_guesses_count_exactly_the_attempt_limit) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("980");
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE(!code.empty());
  std::vector<long> statuses(12);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < statuses.size(); ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = Post(Path(started, "check"), CodeBody(WrongCode(code)), client.key).status;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 400) == 5);
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 429) == 7);
  auto right = Post(Path(started, "check"), CodeBody(code), client.key);
  BOOST_TEST(right.status == 429);
  BOOST_TEST(right.json["code"].asString() == "too_many_attempts");
  auto read = Stack::Get().Client().Get(Path(started), client.key);
  BOOST_TEST(read.json["status"].asString() == "max_attempts_reached");
  BOOST_TEST(read.json["attempts_left"].asInt() == 0);
}

BOOST_AUTO_TEST_CASE(resend_kills_the_old_code_and_cancel_ends_it) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("981");
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  const std::string first = WaitForCode(phone, 1);
  auto too_soon = Post(Path(started, "resend"), Json::Value(Json::objectValue), client.key);
  BOOST_TEST(too_soon.status == 429);
  BOOST_TEST(too_soon.json["code"].asString() == "resend_too_soon");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Json::Value lang;
  lang["lang"] = "ne";
  auto resent = Post(Path(started, "resend"), lang, client.key);
  BOOST_REQUIRE_MESSAGE(resent.status == 202, resent.body);
  BOOST_TEST(resent.json["id"] == started.json["id"]);
  BOOST_TEST(resent.json["lang"].asString() == "ne");
  const std::string second = WaitForCode(phone, 2);
  BOOST_REQUIRE(!second.empty());
  if (first != second) {
    auto old = Post(Path(started, "check"), CodeBody(first), client.key);
    BOOST_TEST(old.status == 400);
    BOOST_TEST(old.json["code"].asString() == "otp_invalid");
  }
  auto canceled = Post(Path(started, "cancel"), Json::Value(Json::objectValue), client.key);
  BOOST_REQUIRE_EQUAL(canceled.status, 200);
  BOOST_TEST(canceled.json["status"].asString() == "canceled");
  auto late = Post(Path(started, "check"), CodeBody(second), client.key);
  BOOST_TEST(late.status == 409);
  BOOST_TEST(late.json["details"].asString().find("canceled") != std::string::npos);
  BOOST_TEST(Post(Path(started, "cancel"), Json::Value(Json::objectValue), client.key).status ==
             409);
}

BOOST_AUTO_TEST_CASE(a_new_start_cancels_the_pending_one_of_the_same_phone) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("982");
  auto first = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(first.status, 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto second = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(second.status, 201);
  BOOST_TEST(second.json["id"] != first.json["id"]);
  auto http = Stack::Get().Client();
  BOOST_TEST(http.Get(Path(first), client.key).json["status"].asString() == "canceled");
  BOOST_TEST(http.Get(Path(second), client.key).json["status"].asString() == "pending");
}

BOOST_AUTO_TEST_CASE(the_cooldown_and_daily_cap_count_the_account_api_too) {
  ApiClientRow client = NewClient();
  auto http = Stack::Get().Client();
  TestUser user = NewUser(http);
  const std::string phone = UniquePhone("984");
  BOOST_REQUIRE_EQUAL(http.PostJson("/api/v1/phone/send-otp", PhoneBody(phone), user.token).status,
                      202);
  auto refused = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_TEST(refused.status == 429);
  BOOST_TEST(refused.json["code"].asString() == "resend_too_soon");
  BOOST_TEST(!refused.Header("retry-after").empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  BOOST_TEST(started.json["sends_left"].asInt() == 3);  // 5 a day, 2 used by both APIs
  auto account_again = http.PostJson("/api/v1/phone/send-otp", PhoneBody(phone), user.token);
  BOOST_TEST(account_again.status == 429);
}

BOOST_AUTO_TEST_CASE(a_repeated_idempotency_key_gets_the_first_answer_and_changes_nothing) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("985");
  const std::string key = UniqueName("start-key");
  auto first = Post("/api/v1/verifications", PhoneBody(phone), client.key, key);
  BOOST_REQUIRE_EQUAL(first.status, 201);
  auto again = Post("/api/v1/verifications", PhoneBody(phone), client.key, key);
  BOOST_TEST(again.status == 201);
  BOOST_TEST(again.json["id"] == first.json["id"]);
  BOOST_TEST(again.Header("idempotent-replayed") == "true");
  const std::string code = WaitForCode(phone, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(SmsCountFor(phone) == 1u);
  // Another client's identical key is its own.
  ApiClientRow other = NewClient();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto others = Post("/api/v1/verifications", PhoneBody(phone), other.key, key);
  BOOST_TEST(others.status == 201);
  BOOST_TEST(others.json["id"] != first.json["id"]);
  // A wrong guess repeated with its key uses one attempt.
  const std::string guess_key = UniqueName("guess-key");
  auto wrong = Post(Path(first, "check"), CodeBody(WrongCode(code)), client.key, guess_key);
  auto wrong_again = Post(Path(first, "check"), CodeBody(WrongCode(code)), client.key, guess_key);
  BOOST_TEST(wrong.status == 400);
  BOOST_TEST(wrong_again.status == 400);
  BOOST_TEST(wrong_again.json["attempts_left"] == wrong.json["attempts_left"]);
  auto read = Stack::Get().Client().Get(Path(first), client.key);
  BOOST_TEST(read.json["attempts_left"].asInt() == 4);
}

BOOST_AUTO_TEST_CASE(changes_store_their_webhook_events_in_order) {
  ApiClientRow client = NewClient("http://127.0.0.1:9/hook");
  ApiClientRow quiet = NewClient();
  const std::string phone = UniquePhone("986");
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  auto canceled = Post(Path(started, "cancel"), Json::Value(Json::objectValue), client.key);
  BOOST_REQUIRE_EQUAL(canceled.status, 200);
  BOOST_TEST(CountRows("SELECT COUNT(*) FROM webhook_events WHERE client_id = ? "
                       "AND type = 'verification.canceled'",
                       client.id) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto unheard = Post("/api/v1/verifications", PhoneBody(phone), quiet.key);
  BOOST_REQUIRE_EQUAL(unheard.status, 201);
  BOOST_TEST(Post(Path(unheard, "cancel"), Json::Value(Json::objectValue), quiet.key).status ==
             200);
  BOOST_TEST(CountRows("SELECT COUNT(*) FROM webhook_events WHERE client_id = ?", quiet.id) == 0);
}

// The events no request makes: message.sent when the gateway took the SMS, and
// verification.expired from the sweep, within 10 s of expires_at.
BOOST_AUTO_TEST_CASE(delivery_and_expiry_store_their_events) {
  ApiClientRow client = NewClient("http://127.0.0.1:9/hook", false, 2);
  const std::string phone = UniquePhone("984");
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  BOOST_TEST(started.json["expires_in"].asInt() == 2);
  BOOST_REQUIRE(!WaitForCode(phone, 1).empty());
  const std::string sent_sql =
      "SELECT COUNT(*) FROM webhook_events WHERE client_id = ? AND type = 'message.sent'";
  const std::string expired_sql =
      "SELECT COUNT(*) FROM webhook_events e JOIN verifications v ON v.id = e.verification_id "
      "WHERE e.client_id = ? AND e.type = 'verification.expired' AND v.status = 'expired'";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while ((CountRows(sent_sql, client.id) == 0 || CountRows(expired_sql, client.id) == 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  BOOST_TEST(CountRows(sent_sql, client.id) == 1);
  BOOST_TEST(CountRows(expired_sql, client.id) == 1);
  auto read = Stack::Get().Client().Get(Path(started), client.key);
  BOOST_TEST(read.json["status"].asString() == "expired");
  BOOST_TEST(read.json["expires_in"].asInt() == 0);
  auto late = Post(Path(started, "check"), CodeBody("123456"), client.key);
  BOOST_TEST(late.status == 410);
  BOOST_TEST(late.json["code"].asString() == "otp_expired");
  BOOST_TEST(Post(Path(started, "resend"), Json::Value(Json::objectValue), client.key).status ==
             409);
}

// The gateway refusing the SMS for good before expires_at: failed, stored with its event.
BOOST_AUTO_TEST_CASE(a_message_refused_for_good_fails_the_verification) {
  ApiClientRow client = NewClient("http://127.0.0.1:9/hook");
  const std::string phone = UniquePhone("982");
  Stack::Get().Sparrow().FailNext(1, fakes::FakeSparrow::Error403(1007));
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  HttpResponse read;
  for (int i = 0; i < 100; ++i) {
    read = Stack::Get().Client().Get(Path(started), client.key);
    if (read.json["status"].asString() == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(read.json["status"].asString() == "failed");
  BOOST_TEST(read.json["delivery"].asString() == "failed");
  BOOST_TEST(read.json["delivery_error"].asString().find("1007") == std::string::npos);
  BOOST_TEST(!read.json["delivery_error"].isNull());
  BOOST_TEST(CountRows("SELECT COUNT(*) FROM webhook_events e JOIN verifications v "
                       "ON v.id = e.verification_id WHERE e.client_id = ? "
                       "AND e.type = 'verification.failed' AND v.status = 'failed'",
                       client.id) == 1);
  BOOST_TEST(CountRows("SELECT COUNT(*) FROM webhook_events WHERE client_id = ? "
                       "AND type = 'message.sent'",
                       client.id) == 0);
  auto check = Post(Path(started, "check"), CodeBody("123456"), client.key);
  BOOST_TEST(check.status == 409);
  BOOST_TEST(check.json["details"].asString().find("failed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_bodies_get_the_contracts_400) {
  ApiClientRow client = NewClient();
  const std::string phone = UniquePhone("984");
  auto field_error = [&](Json::Value body) {
    return Post("/api/v1/verifications", body, client.key);
  };
  auto expect = [](const HttpResponse& r, const std::string& code, const std::string& field) {
    BOOST_TEST(r.status == 400, r.body);
    BOOST_TEST(r.json["code"].asString() == code, r.body);
    BOOST_TEST(r.json["field"].asString() == field, r.body);
    BOOST_TEST(r.HasErrorShape());
  };
  expect(field_error(Json::Value(Json::objectValue)), "missing_field", "phone");
  expect(field_error(PhoneBody("12345")), "invalid_phone", "phone");
  expect(field_error(PhoneBody("' OR 1=1; --")), "invalid_phone", "phone");
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"lang", "fr"},
           {"reference", std::string(65, 'r')},
           {"reference", "caf\xc3\xa9"},
           {"app_hash", "short"},
           {"app_hash", "abcdefghij!"},
           {"client_ip", "300.1.1.1"}}) {
    Json::Value body = PhoneBody(phone);
    body[name] = value;
    expect(field_error(body), "invalid_field", name);
  }
  auto raw = Stack::Get().Client().PostRaw("/api/v1/verifications", "{\"phone\":", "application/json",
                                           client.key);
  BOOST_TEST(raw.status == 400);
  BOOST_TEST(raw.HasErrorShape());
  BOOST_TEST(SmsCountFor(phone) == 0u);
  auto started = Post("/api/v1/verifications", PhoneBody(phone), client.key);
  BOOST_REQUIRE_EQUAL(started.status, 201);
  expect(Post(Path(started, "check"), CodeBody("12ab56"), client.key), "invalid_field", "code");
  expect(Post(Path(started, "check"), CodeBody("1234567"), client.key), "invalid_field", "code");
  expect(Post(Path(started, "check"), Json::Value(Json::objectValue), client.key), "missing_field",
         "code");
  auto read = Stack::Get().Client().Get(Path(started), client.key);
  BOOST_TEST(read.json["attempts_left"].asInt() == 5);  // malformed codes use no attempt
  auto method = Stack::Get().Client().Delete(Path(started), client.key);
  BOOST_TEST(method.status == 405);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
