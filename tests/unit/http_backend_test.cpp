// sms::HttpBackend: the signed JSON POST it asks for, and what the answer means
// (contract section 6, sms_backend = http). No network: Prepare and Interpret are pure.
#include "sms/http_backend.h"

#include <curl/curl.h>
#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "sms/sparrow_http.h"
#include "util/crypto.h"
#include "util/webhook_signature.h"

namespace phoneverify::sms {
namespace {

using Kind = SendResult::Kind;

constexpr const char* kUrl = "https://bridge.example/sms";
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kPhone = "9841234567";
// "Your code is 482913" in Nepali, with JSON specials.
constexpr const char* kNepaliText = "तपाईंको कोड ४८२९१३ हो। \"quoted\" back\\slash\nline";

struct Fixture {
  Fixture() { BOOST_REQUIRE(util::InitCrypto()); }
  std::string key = util::ParseWebhookSecret(kSecret).value();
  HttpBackend backend{kUrl, key, 7};

  static OutgoingSms Sms(int64_t now = 1700000000) {
    return OutgoingSms{"sms_01HXYZ", kPhone, kNepaliText, now};
  }
  HttpCall Call(const OutgoingSms& sms) {
    HttpBackend::Prepared prepared = backend.Prepare(sms);
    BOOST_REQUIRE(std::holds_alternative<HttpCall>(prepared));
    return std::get<HttpCall>(prepared);
  }
};

// The value of header `name` (exactly "name: value"), or nullopt.
std::optional<std::string> Header(const HttpCall& call, const std::string& name) {
  const std::string prefix = name + ": ";
  for (const auto& header : call.headers) {
    if (header.rfind(prefix, 0) == 0) return header.substr(prefix.size());
  }
  return std::nullopt;
}

HttpAnswer Answer(long status, std::string body = "") { return HttpAnswer{0, status, body}; }

BOOST_FIXTURE_TEST_SUITE(http_backend, Fixture)

BOOST_AUTO_TEST_CASE(is_named_http) { BOOST_TEST(std::string(backend.Name()) == "http"); }

BOOST_AUTO_TEST_CASE(body_is_compact_json_with_the_text_in_utf8) {
  const HttpCall call = Call(Sms());
  BOOST_TEST(call.url == kUrl);
  BOOST_TEST(call.timeout_seconds == 7);
  // jsoncpp writes members in sorted order.
  BOOST_TEST(call.body == std::string(R"({"id":"sms_01HXYZ","text":")") +
                              "तपाईंको कोड ४८२९१३ हो। \\\"quoted\\\" back\\\\slash\\nline" +
                              R"(","to":"9841234567"})");
  // What jsoncpp's own writer gives, byte for byte.
  Json::Value expected(Json::objectValue);
  expected["id"] = "sms_01HXYZ";
  expected["to"] = kPhone;
  expected["text"] = kNepaliText;
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  writer["emitUTF8"] = true;
  BOOST_TEST(call.body == Json::writeString(writer, expected));
  // And a reader gets the three fields back.
  Json::Value parsed;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  BOOST_REQUIRE(reader->parse(call.body.data(), call.body.data() + call.body.size(), &parsed,
                              &errors));
  BOOST_TEST(parsed == expected);
}

BOOST_AUTO_TEST_CASE(headers_are_json_and_standard_webhooks) {
  const HttpCall call = Call(Sms(1700000123));
  BOOST_TEST(Header(call, "Content-Type").value_or("") == "application/json");
  BOOST_TEST(Header(call, "Accept").value_or("") == "application/json");
  BOOST_TEST(std::count(call.headers.begin(), call.headers.end(), "Expect:") == 1);
  BOOST_TEST(Header(call, "webhook-id").value_or("") == "sms_01HXYZ");
  BOOST_TEST(Header(call, "webhook-timestamp").value_or("") == "1700000123");
  BOOST_TEST(Header(call, "webhook-signature").has_value());
}

BOOST_AUTO_TEST_CASE(the_signature_verifies_over_exactly_the_body) {
  const HttpCall call = Call(Sms(1700000123));
  const std::string signature = Header(call, "webhook-signature").value_or("");
  BOOST_TEST(signature.rfind("v1,", 0) == 0u);
  BOOST_TEST(signature == util::WebhookSignature(key, "sms_01HXYZ", 1700000123, call.body));
  BOOST_TEST(signature != util::WebhookSignature(key, "sms_01HXYZ", 1700000123, call.body + "\n"));
  BOOST_TEST(signature != util::WebhookSignature(std::string(24, 'x'), "sms_01HXYZ", 1700000123,
                                                 call.body));
}

// Contract section 6: the id is the same on every try; the timestamp and signature are the try's.
BOOST_AUTO_TEST_CASE(a_retry_keeps_the_id_and_body_with_a_fresh_timestamp_and_signature) {
  const HttpCall first = Call(Sms(1700000000));
  const HttpCall again = Call(Sms(1700000000));
  const HttpCall later = Call(Sms(1700000060));
  BOOST_TEST(first.body == again.body);
  BOOST_TEST(first.headers == again.headers);
  BOOST_TEST(Header(later, "webhook-id").value_or("") == "sms_01HXYZ");
  BOOST_TEST(later.body == first.body);
  BOOST_TEST(Header(later, "webhook-timestamp").value_or("") == "1700000060");
  BOOST_TEST(Header(later, "webhook-signature").value_or("") !=
             Header(first, "webhook-signature").value_or(""));
}

BOOST_AUTO_TEST_CASE(no_timeout_means_ten_seconds) {
  HttpBackend defaulted(kUrl, key, 0);
  BOOST_TEST(std::get<HttpCall>(defaulted.Prepare(Sms())).timeout_seconds == 10);
}

BOOST_AUTO_TEST_CASE(answers_are_classified) {
  struct Row {
    long status;
    Kind kind;
    const char* detail;
  };
  for (const Row& row : {
           Row{200, Kind::kDelivered, ""},
           Row{201, Kind::kDelivered, ""},
           Row{202, Kind::kDelivered, ""},
           Row{204, Kind::kDelivered, ""},
           Row{299, Kind::kDelivered, ""},
           Row{400, Kind::kPermanent, "http 400"},
           Row{401, Kind::kPermanent, "http 401"},
           Row{403, Kind::kPermanent, "http 403"},
           Row{404, Kind::kPermanent, "http 404"},
           Row{422, Kind::kPermanent, "http 422"},
           Row{499, Kind::kPermanent, "http 499"},
           Row{408, Kind::kTransient, "http 408"},
           Row{429, Kind::kTransient, "http 429"},
           Row{500, Kind::kTransient, "http 500"},
           Row{502, Kind::kTransient, "http 502"},
           Row{503, Kind::kTransient, "http 503"},
           Row{301, Kind::kTransient, "http 301"},
           Row{100, Kind::kTransient, "http 100"},
           Row{0, Kind::kTransient, "http 0"},
       }) {
    BOOST_TEST_CONTEXT("status " << row.status) {
      const SendResult result = backend.Interpret(Sms(), Answer(row.status));
      BOOST_TEST((result.kind == row.kind));
      BOOST_TEST(result.gateway_code == row.status);
      BOOST_TEST(result.detail == row.detail);
      BOOST_TEST(!result.out_of_credit);
    }
  }
}

BOOST_AUTO_TEST_CASE(curl_failures_are_transient) {
  for (int code : {CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST,
                   CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_RECV_ERROR}) {
    BOOST_TEST_CONTEXT("curl code " << code) {
      const SendResult result = backend.Interpret(Sms(), HttpAnswer{code, 0, ""});
      BOOST_TEST((result.kind == Kind::kTransient));
      BOOST_TEST(result.detail == InterpretCurlFailure(code).detail);
      BOOST_TEST(!result.detail.empty());
    }
  }
  // A status left over from an earlier attempt does not count once curl failed.
  BOOST_TEST((backend.Interpret(Sms(), HttpAnswer{CURLE_OPERATION_TIMEDOUT, 200, ""}).kind ==
              Kind::kTransient));
}

// A bridge may echo what it got: the detail holds neither the text (the code) nor the phone.
BOOST_AUTO_TEST_CASE(the_detail_never_echoes_the_reply) {
  const std::string echo = std::string(R"({"error":"bad text )") + kNepaliText + " for " +
                           kPhone + R"("})";
  for (long status : {200L, 400L, 429L, 500L}) {
    BOOST_TEST_CONTEXT("status " << status) {
      const SendResult result = backend.Interpret(Sms(), Answer(status, echo));
      BOOST_TEST(result.detail.find("४८२९१३") == std::string::npos, result.detail);
      BOOST_TEST(result.detail.find("1234567") == std::string::npos, result.detail);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
