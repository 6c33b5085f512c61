#include "sms/http_backend.h"

#include <json/value.h>

#include <utility>

#include "sms/sparrow_http.h"
#include "util/json_text.h"
#include "util/webhook_signature.h"

namespace phoneverify::sms {
namespace {

constexpr int kDefaultTimeoutSeconds = 10;

SendResult Make(SendResult::Kind kind, long status, std::string detail) {
  SendResult result;
  result.kind = kind;
  result.gateway_code = static_cast<int>(status);
  result.detail = std::move(detail);
  return result;
}

// Compact and UTF-8 as is (Nepali text stays readable to the provider and half the size
// of \u escapes): util::ToJson is jsoncpp's writer with indentation "" and emitUTF8.
std::string Body(const OutgoingSms& sms) {
  Json::Value body(Json::objectValue);
  body["id"] = sms.id;
  body["to"] = sms.to;
  body["text"] = sms.text;
  return util::ToJson(body);
}

}  // namespace

HttpBackend::HttpBackend(std::string url, std::string key_bytes, int timeout_seconds)
    : url_(std::move(url)),
      key_bytes_(std::move(key_bytes)),
      timeout_seconds_(timeout_seconds > 0 ? timeout_seconds : kDefaultTimeoutSeconds) {}

SmsBackend::Prepared HttpBackend::Prepare(const OutgoingSms& sms) {
  HttpCall call;
  call.url = url_;
  call.body = Body(sms);
  call.timeout_seconds = timeout_seconds_;
  call.headers = {
      "Content-Type: application/json",
      "Accept: application/json",
      "Expect:",  // no 100-continue round trip before the body
      "webhook-id: " + sms.id,
      "webhook-timestamp: " + std::to_string(sms.now),
      "webhook-signature: " + util::WebhookSignature(key_bytes_, sms.id, sms.now, call.body),
  };
  return call;
}

SendResult HttpBackend::Interpret(const OutgoingSms&, const HttpAnswer& answer) const {
  if (answer.curl_code != 0) return InterpretCurlFailure(answer.curl_code);
  const long status = answer.status;
  // The reply body stays out of the detail: a bridge may echo the text, code and all.
  std::string detail = "http " + std::to_string(status);
  if (status >= 200 && status < 300) return Make(SendResult::Kind::kDelivered, status, "");
  if (status == 408 || status == 429) {
    return Make(SendResult::Kind::kTransient, status, std::move(detail));
  }
  if (status >= 400 && status < 500) {
    return Make(SendResult::Kind::kPermanent, status, std::move(detail));
  }
  return Make(SendResult::Kind::kTransient, status, std::move(detail));
}

}  // namespace phoneverify::sms
