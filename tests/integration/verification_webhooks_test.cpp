// The verification API end to end, as a site with its own users meets it (contract
// section 7): a client made with phoneverify-admin, a verification started, approved,
// and its webhooks received, each checked with conf/examples/verify_webhook.py, the
// snippet the README gives to such sites.
#include <json/reader.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "admin_cli.h"
#include "api_helpers.h"
#include "fakes/fake_webhook_receiver.h"

namespace phoneverify::itest {
namespace {

HttpResponse Post(const std::string& path, const Json::Value& body, const std::string& key) {
  HttpRequest request{"POST", path, ToJson(body),
                      {"Content-Type: application/json", "Authorization: Bearer " + key}};
  return Stack::Get().Client().Send(request);
}

Json::Value Parse(const std::string& text) {
  Json::Value value;
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  reader->parse(text.data(), text.data() + text.size(), &value, nullptr);
  return value;
}

// Exit status of the README's Python snippet on this request.
int SnippetVerdict(const std::string& secret, const fakes::WebhookRequest& request) {
  const std::string body_file = Stack::Get().var_dir() + "/webhook-body.json";
  std::ofstream(body_file, std::ios::binary) << request.body;
  const std::string command = "python3 conf/examples/verify_webhook.py '" + secret + "' '" +
                              request.Header("webhook-id") + "' '" +
                              request.Header("webhook-timestamp") + "' '" +
                              request.Header("webhook-signature") + "' < '" + body_file + "'";
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

BOOST_AUTO_TEST_SUITE(verification_webhooks)

BOOST_AUTO_TEST_CASE(a_site_starts_checks_and_hears_about_it_by_signed_webhooks) {
  fakes::FakeWebhookReceiver receiver;
  BOOST_REQUIRE(receiver.ok());
  const std::string name = UniqueName("shop");
  AdminRun created = Admin("client create " + name + " --brand ShopNP --webhook-url " +
                           receiver.Url("/hooks/pv"));
  BOOST_REQUIRE_EQUAL(created.status, 0);
  const std::string key = created.fields["api_key"];
  const std::string secret = created.fields["webhook_secret"];
  BOOST_REQUIRE(key.rfind("pvk_", 0) == 0);

  const std::string phone = UniquePhone("984");
  Json::Value start;
  start["phone"] = phone;
  start["reference"] = "user-7";
  start["app_hash"] = "FA+9qCX9VSu";
  auto started = Post("/api/v1/verifications", start, key);
  BOOST_REQUIRE_MESSAGE(started.status == 201, started.body);
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE(!code.empty());
  std::string text;
  for (const auto& sms : Stack::Get().Sparrow().Requests()) {
    if (sms.to == phone) text = sms.text;
  }
  BOOST_TEST(text.rfind("ShopNP code: " + code, 0) == 0u, text);
  BOOST_TEST(text.find("\nFA+9qCX9VSu") != std::string::npos, text);

  Json::Value check;
  check["code"] = code;
  auto approved = Post("/api/v1/verifications/" + started.json["id"].asString() + "/check", check,
                       key);
  BOOST_REQUIRE_EQUAL(approved.status, 200);

  BOOST_REQUIRE(receiver.WaitForRequests("/hooks/pv", 2, std::chrono::seconds(15)));
  std::set<std::string> types;
  for (const fakes::WebhookRequest& request : receiver.Requests("/hooks/pv")) {
    const Json::Value event = Parse(request.body);
    types.insert(event["type"].asString());
    BOOST_TEST(event["data"]["id"] == started.json["id"]);
    BOOST_TEST(event["data"]["reference"].asString() == "user-7");
    BOOST_TEST(request.Header("webhook-id").rfind("msg_", 0) == 0u);
    BOOST_TEST(SnippetVerdict(secret, request) == 0);
    fakes::WebhookRequest forged = request;
    forged.body += " ";
    BOOST_TEST(SnippetVerdict(secret, forged) == 1);
  }
  BOOST_TEST(types.count("message.sent") == 1u);
  BOOST_TEST(types.count("verification.approved") == 1u);
  const Json::Value approved_event = [&] {
    for (const auto& r : receiver.Requests("/hooks/pv")) {
      Json::Value e = Parse(r.body);
      if (e["type"] == "verification.approved") return e;
    }
    return Json::Value();
  }();
  BOOST_TEST(approved_event["data"]["status"].asString() == "approved");

  AdminRun shown = Admin("client show " + name);
  BOOST_TEST(shown.fields["webhook_events"] == "0 pending, 2 delivered, 0 dropped", shown.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
