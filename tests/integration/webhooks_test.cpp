// Webhook delivery on the real stack (contract section 7): API clients and their events
// are written straight into the database, as the API's transactions will; the stack's
// phoneverify-dispatcher delivers them to a FakeWebhookReceiver on 127.0.0.1.
// Suite webhook_storage checks storage::MysqlWebhookRepository's claim rules directly,
// on events ~100 years ahead (never due for the stack's own deliverer).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <latch>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "fakes/fake_webhook_receiver.h"
#include "fault_helpers.h"
#include "stack.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/webhook_repository.h"
#include "test_db.h"
#include "util/crypto.h"
#include "util/webhook_signature.h"

namespace phoneverify::itest {
namespace {

using namespace std::chrono_literals;
using fakes::FakeWebhookReceiver;
using fakes::WebhookRequest;
using storage::Param;

constexpr const char* kSecret = "whsec_aXRlc3Qtd2ViaG9vay1zZWNyZXQtMzItYnl0ZXMh";

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }
int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string RandomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back("0123456789abcdef"[rng() % 16]);
  return out;
}

int64_t RandomId() { return static_cast<int64_t>(std::stoull(RandomHex(12), nullptr, 16)); }

// An api_clients row whose webhook goes to `url`, its secret sealed with the stack's
// outbox key. Returns its id.
int64_t AddClient(storage::Connection& conn, const std::string& name, const std::string& url) {
  const std::string sealed = util::Seal(IntegrationDbConfig().outbox_key_bytes, kSecret);
  auto done = conn.Exec(
      "INSERT INTO api_clients (name, key_hash, webhook_url, webhook_secret_sealed, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      {Param::Text(name), Param::Bytes(RandomHex(32)), Param::Text(url), Param::Bytes(sealed),
       Param::Int(Now()), Param::Int(Now())});
  BOOST_REQUIRE(done.ok());
  return static_cast<int64_t>(done.value().insert_id);
}

struct Event {
  int64_t id = 0;
  std::string event_id;
  std::string body;
};

// A pending event, due at `due` (0: now).
Event AddEvent(storage::Connection& conn, int64_t client, int64_t verification,
               const std::string& type, int64_t created = 0, int64_t due = 0) {
  Event event;
  event.event_id = "evt_" + RandomHex(32);
  event.body = R"({"type":")" + type +
               R"(","timestamp":"2024-06-13T10:00:00Z","data":{"id":"ver_)" +
               std::to_string(verification) + R"(","phone":"9841234567","status":"approved"}})";
  created = created == 0 ? Now() : created;
  auto done = conn.Exec(
      "INSERT INTO webhook_events (event_id, client_id, verification_id, type, body, "
      "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {Param::Text(event.event_id), Param::Int(client), Param::Int(verification), Param::Text(type),
       Param::Text(event.body), Param::Int(due == 0 ? created : due), Param::Int(created)});
  BOOST_REQUIRE(done.ok());
  event.id = static_cast<int64_t>(done.value().insert_id);
  return event;
}

std::string StateOf(storage::Connection& conn, int64_t id) {
  auto rows =
      conn.Query("SELECT state, last_error FROM webhook_events WHERE id = ?", {Param::Int(id)});
  if (!rows.ok() || rows.value().empty()) return "?";
  return rows.value()[0].Text(0) + ":" + rows.value()[0].Text(1);
}

bool SignatureVerifies(const WebhookRequest& request) {
  const auto key = util::ParseWebhookSecret(kSecret);
  return key &&
         request.Header("webhook-signature") ==
             util::WebhookSignature(*key, request.Header("webhook-id"),
                                    std::stoll(request.Header("webhook-timestamp")), request.body);
}

struct Receiver {
  Receiver() { BOOST_REQUIRE(server.ok()); }
  FakeWebhookReceiver server;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(webhooks)

BOOST_AUTO_TEST_CASE(an_event_goes_out_within_a_second_signed_with_the_clients_secret) {
  Receiver receiver;
  auto conn = AdminConnection();
  const int64_t client = AddClient(*conn, "wh-sig-" + RandomHex(6), receiver.server.Url("/sig"));
  const int64_t inserted_ms = NowMs();
  const Event event = AddEvent(*conn, client, RandomId(), "verification.approved");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/sig", 1, 10s));
  const WebhookRequest got = receiver.server.Requests("/sig")[0];
  BOOST_TEST_MESSAGE("first try " << got.at_ms - inserted_ms << " ms after the insert");
  BOOST_TEST(got.at_ms - inserted_ms < 2000);
  BOOST_TEST(got.Header("content-type") == "application/json");
  BOOST_TEST(got.Header("webhook-id") == event.event_id);
  BOOST_TEST(std::llabs(std::stoll(got.Header("webhook-timestamp")) - Now()) <= 2);
  BOOST_TEST(got.Header("webhook-signature").rfind("v1,", 0) == 0u);
  BOOST_TEST(SignatureVerifies(got));
  BOOST_TEST(got.body == event.body);
  BOOST_TEST(WaitUntil([&] { return StateOf(*conn, event.id) == "delivered:"; }, 5s),
             StateOf(*conn, event.id));
}

BOOST_AUTO_TEST_CASE(a_500_is_retried_with_the_same_id_and_body_and_a_new_signature) {
  Receiver receiver;
  receiver.server.FailNext("/retry", 1, 500);
  auto conn = AdminConnection();
  const int64_t client =
      AddClient(*conn, "wh-retry-" + RandomHex(6), receiver.server.Url("/retry"));
  const Event event = AddEvent(*conn, client, RandomId(), "message.sent");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/retry", 2, 15s));
  const auto got = receiver.server.Requests("/retry");
  BOOST_TEST(got[0].status == 500);
  BOOST_TEST(got[1].status == 200);
  BOOST_TEST(got[1].at_ms - got[0].at_ms <= 5500);  // the first retry within 5 s
  BOOST_TEST(got[1].Header("webhook-id") == got[0].Header("webhook-id"));
  BOOST_TEST(got[1].body == got[0].body);
  BOOST_TEST(got[1].Header("webhook-timestamp") != got[0].Header("webhook-timestamp"));
  BOOST_TEST(got[1].Header("webhook-signature") != got[0].Header("webhook-signature"));
  BOOST_TEST(SignatureVerifies(got[0]));
  BOOST_TEST(SignatureVerifies(got[1]));
  BOOST_TEST(WaitUntil([&] { return StateOf(*conn, event.id) == "delivered:"; }, 5s));
  BOOST_TEST(QueryInt(*conn, "SELECT tries FROM webhook_events WHERE id = ?",
                      {Param::Int(event.id)}) == 2);
}

BOOST_AUTO_TEST_CASE(the_order_per_verification_holds_when_the_first_event_is_retried) {
  Receiver receiver;
  receiver.server.FailNext("/order", 1, 503);
  auto conn = AdminConnection();
  const int64_t client =
      AddClient(*conn, "wh-order-" + RandomHex(6), receiver.server.Url("/order"));
  const int64_t verification = RandomId();
  BOOST_REQUIRE(conn->Begin().ok());  // both committed together, as one change would
  const Event first = AddEvent(*conn, client, verification, "message.sent");
  const Event second = AddEvent(*conn, client, verification, "verification.approved");
  BOOST_REQUIRE(conn->Commit().ok());
  BOOST_REQUIRE(receiver.server.WaitForRequests("/order", 3, 15s));
  const auto got = receiver.server.Requests("/order");
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0].Header("webhook-id") == first.event_id);
  BOOST_TEST(got[0].status == 503);
  BOOST_TEST(got[1].Header("webhook-id") == first.event_id);
  BOOST_TEST(got[2].Header("webhook-id") == second.event_id);
  BOOST_TEST(got[2].at_ms >= got[1].at_ms);
}

BOOST_AUTO_TEST_CASE(a_410_disables_the_clients_webhook_visibly_in_the_database) {
  Receiver receiver;
  receiver.server.SetStatus("/gone", 410);
  auto conn = AdminConnection();
  const std::string name = "wh-gone-" + RandomHex(6);
  const int64_t client = AddClient(*conn, name, receiver.server.Url("/gone"));
  const Event later = AddEvent(*conn, client, RandomId(), "message.sent", Now(), Now() + 3600);
  const Event event = AddEvent(*conn, client, RandomId(), "verification.expired");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/gone", 1, 10s));
  const char* disabled_sql = "SELECT webhook_disabled_at FROM api_clients WHERE id = ?";
  BOOST_TEST(
      WaitUntil([&] { return QueryInt(*conn, disabled_sql, {Param::Int(client)}) > 0; }, 5s));
  BOOST_TEST(StateOf(*conn, event.id) == "dropped:gone: http 410");
  BOOST_TEST(StateOf(*conn, later.id) == "dropped:webhook gone (410)");
  BOOST_TEST(CountLogLines({"410 Gone", name}) == 1u);
  storage::Database db(IntegrationDbConfig());
  storage::MysqlWebhookRepository repository(db);
  auto state = repository.ClientState(client);
  BOOST_REQUIRE(state.ok());
  BOOST_TEST(state.value().disabled_at > 0);
  BOOST_TEST(state.value().pending == 0);
  BOOST_TEST(state.value().dropped == 2);
  BOOST_TEST(state.value().last_error == "gone: http 410");
  // Nothing more goes there.
  AddEvent(*conn, client, RandomId(), "message.sent");
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(receiver.server.Requests("/gone").size() == 1u);
}

// 30 events to an endpoint that never answers: it gets at most the per-client share of
// calls, and another client's event, and an SMS, still go out at once.
BOOST_AUTO_TEST_CASE(a_hanging_endpoint_does_not_delay_another_clients_event) {
  Receiver receiver;
  receiver.server.SetStatus("/hang", 0);
  auto conn = AdminConnection();
  const int64_t hanging = AddClient(*conn, "wh-hang-" + RandomHex(6), receiver.server.Url("/hang"));
  const int64_t fast = AddClient(*conn, "wh-fast-" + RandomHex(6), receiver.server.Url("/fast"));
  for (int i = 0; i < 30; ++i) AddEvent(*conn, hanging, RandomId(), "message.sent");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/hang", 8, 10s));
  std::this_thread::sleep_for(1s);
  BOOST_TEST(receiver.server.Requests("/hang").size() == 8u);  // the per-client bound
  const int64_t inserted_ms = NowMs();
  AddEvent(*conn, fast, RandomId(), "verification.approved");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/fast", 1, 10s));
  const int64_t took = receiver.server.Requests("/fast")[0].at_ms - inserted_ms;
  BOOST_TEST_MESSAGE("the other client's event arrived after " << took << " ms");
  BOOST_TEST(took < 2000);
  // Nor an SMS: the SMS loop has its own thread and transport.
  auto client = Stack::Get().Client();
  const TestUser user = NewUser(client);
  const int64_t sms_took = TimeMillis([&] { SendAndReceive(client, user, UniquePhone("984")); });
  BOOST_TEST_MESSAGE("an SMS meanwhile took " << sms_took << " ms");
  BOOST_TEST(sms_took < 3000);
  // Leave nothing behind for later tests: the client off, its events dropped by the sweep.
  BOOST_REQUIRE(
      conn->Exec("UPDATE api_clients SET disabled = 1 WHERE id = ?", {Param::Int(hanging)}).ok());
}

BOOST_AUTO_TEST_CASE(metrics_count_webhook_outcomes_and_pending_depth) {
  Receiver receiver;
  auto conn = AdminConnection();
  const int64_t client = AddClient(*conn, "wh-metrics-" + RandomHex(6), receiver.server.Url("/m"));
  AddEvent(*conn, client, RandomId(), "message.sent");
  BOOST_REQUIRE(receiver.server.WaitForRequests("/m", 1, 10s));
  std::string text;
  BOOST_TEST(WaitUntil(
      [&] {
        text = Stack::Get().Client().Get("/metrics").body;
        return text.find("phoneverify_webhooks_total{outcome=\"delivered\"}") != std::string::npos;
      },
      15s));
  BOOST_TEST(text.find("phoneverify_webhooks_pending{state=\"pending\"}") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the repository's rules, on events ~100 years ahead -------------------------------

namespace {

constexpr int64_t kFuture = 100LL * 365 * 24 * 3600;

struct Repo {
  Repo() : db(IntegrationDbConfig()), repository(db), conn(AdminConnection()) {}
  std::vector<int64_t> DueIds(int64_t now, int per_client, const std::set<int64_t>& mine) {
    auto due = repository.Due(now, per_client, 1000);
    BOOST_REQUIRE(due.ok());
    std::vector<int64_t> ids;
    for (const auto& candidate : due.value()) {
      if (mine.count(candidate.id) != 0) ids.push_back(candidate.id);
    }
    return ids;
  }
  storage::Database db;
  storage::MysqlWebhookRepository repository;
  std::unique_ptr<storage::Connection> conn;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_storage)

// The second event waits for the first; a retry of the first holds it back too.
BOOST_AUTO_TEST_CASE(an_event_is_not_due_while_an_earlier_one_of_its_verification_is_unfinished) {
  Repo repo;
  const int64_t now = Now() + kFuture;
  const int64_t client = AddClient(*repo.conn, "whs-order-" + RandomHex(6), "http://127.0.0.1:9/");
  const int64_t verification = RandomId();
  const Event first = AddEvent(*repo.conn, client, verification, "message.sent", now);
  const Event second = AddEvent(*repo.conn, client, verification, "verification.approved", now);
  const std::set<int64_t> mine = {first.id, second.id};
  BOOST_TEST(repo.DueIds(now, 10, mine) == std::vector<int64_t>{first.id});
  const std::string token_a = "tok-a-" + RandomHex(8);
  auto claimed = repo.repository.Claim({first.id}, token_a, now, 30);
  BOOST_REQUIRE(claimed.ok());
  BOOST_REQUIRE(claimed.value().size() == 1u);
  const domain::WebhookEvent event = claimed.value()[0];
  BOOST_TEST(event.event_id == first.event_id);
  BOOST_TEST(event.body == first.body);
  BOOST_TEST(event.tries == 1);
  BOOST_TEST(event.url == "http://127.0.0.1:9/");
  BOOST_TEST(repo.DueIds(now, 10, mine).empty());  // first sending, second blocked
  BOOST_TEST(!repo.repository.MarkRetry(event, "another-token", now + 100, "x").value());
  BOOST_TEST(repo.repository.MarkRetry(event, token_a, now + 100, "http 500").value());
  BOOST_TEST(QueryInt(*repo.conn, "SELECT next_attempt_at FROM webhook_events WHERE id = ?",
                      {Param::Int(second.id)}) == now + 100);
  BOOST_TEST(repo.DueIds(now + 50, 10, mine).empty());
  BOOST_TEST(repo.DueIds(now + 100, 10, mine) == std::vector<int64_t>{first.id});
  const std::string token_b = "tok-b-" + RandomHex(8);
  BOOST_REQUIRE(repo.repository.Claim({first.id}, token_b, now + 100, 30).value().size() == 1u);
  BOOST_TEST(repo.repository.MarkDelivered(first.id, token_b, now + 101).value());
  BOOST_TEST(repo.DueIds(now + 101, 10, mine) == std::vector<int64_t>{second.id});
}

BOOST_AUTO_TEST_CASE(due_lists_at_most_per_client_events_of_a_client) {
  Repo repo;
  const int64_t now = Now() + kFuture;
  const int64_t client = AddClient(*repo.conn, "whs-cap-" + RandomHex(6), "http://127.0.0.1:9/");
  std::set<int64_t> mine;
  for (int i = 0; i < 5; ++i) mine.insert(AddEvent(*repo.conn, client, RandomId(), "m", now).id);
  BOOST_TEST(repo.DueIds(now, 2, mine).size() == 2u);
  BOOST_TEST(repo.DueIds(now, 10, mine).size() == 5u);
}

// Four claimers at once over the same 40 events: each event taken exactly once.
BOOST_AUTO_TEST_CASE(concurrent_claims_take_each_event_once) {
  Repo repo;
  const int64_t now = Now() + kFuture;
  const int64_t client = AddClient(*repo.conn, "whs-race-" + RandomHex(6), "http://127.0.0.1:9/");
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(AddEvent(*repo.conn, client, RandomId(), "m", now).id);
  constexpr int kClaimers = 4;
  std::latch start(kClaimers);
  std::vector<std::vector<domain::WebhookEvent>> got(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) {
    threads.emplace_back([&, i] {
      std::vector<int64_t> order = ids;
      if (i % 2 == 1) std::reverse(order.begin(), order.end());
      start.arrive_and_wait();
      auto claimed =
          repo.repository.Claim(order, "race-" + std::to_string(i) + RandomHex(8), now, 30);
      if (claimed.ok()) got[i] = claimed.value();
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::multiset<int64_t> taken;
  for (const auto& claim : got) {
    for (const auto& event : claim) taken.insert(event.id);
  }
  BOOST_TEST(taken.size() == ids.size());
  BOOST_TEST(std::set<int64_t>(taken.begin(), taken.end()).size() == ids.size());
}

BOOST_AUTO_TEST_CASE(an_abandoned_claim_is_taken_over_after_its_lease) {
  Repo repo;
  const int64_t now = Now() + kFuture;
  const int64_t client = AddClient(*repo.conn, "whs-lease-" + RandomHex(6), "http://127.0.0.1:9/");
  const Event event = AddEvent(*repo.conn, client, RandomId(), "m", now);
  const std::set<int64_t> mine = {event.id};
  BOOST_REQUIRE(repo.repository.Claim({event.id}, "dead-" + RandomHex(8), now, 30).value().size() ==
                1u);
  BOOST_TEST(repo.DueIds(now + 10, 10, mine).empty());
  BOOST_TEST(
      repo.repository.Claim({event.id}, "early-" + RandomHex(8), now + 10, 30).value().empty());
  BOOST_TEST(repo.DueIds(now + 30, 10, mine) == std::vector<int64_t>{event.id});
  const std::string token = "heir-" + RandomHex(8);
  auto taken = repo.repository.Claim({event.id}, token, now + 30, 30);
  BOOST_REQUIRE(taken.value().size() == 1u);
  BOOST_TEST(taken.value()[0].tries == 2);
  BOOST_TEST(repo.repository.MarkDelivered(event.id, token, now + 31).value());
}

// A 410 from a URL the client has replaced since the claim does not disable the new one.
BOOST_AUTO_TEST_CASE(a_410_from_a_replaced_url_leaves_the_webhook_on) {
  Repo repo;
  const int64_t now = Now() + kFuture;
  const int64_t client = AddClient(*repo.conn, "whs-url-" + RandomHex(6), "http://127.0.0.1:9/old");
  const Event event = AddEvent(*repo.conn, client, RandomId(), "m", now);
  const std::string token = "gone-" + RandomHex(8);
  auto claimed = repo.repository.Claim({event.id}, token, now, 30);
  BOOST_REQUIRE(claimed.value().size() == 1u);
  BOOST_REQUIRE(repo.conn
                    ->Exec("UPDATE api_clients SET webhook_url = 'http://127.0.0.1:9/new' "
                           "WHERE id = ?",
                           {Param::Int(client)})
                    .ok());
  auto gone = repo.repository.MarkGone(claimed.value()[0], token, now, "gone: http 410");
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(gone.value().held);
  BOOST_TEST(!gone.value().disabled);
  BOOST_TEST(QueryInt(*repo.conn, "SELECT webhook_disabled_at FROM api_clients WHERE id = ?",
                      {Param::Int(client)}) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::itest
