#include "webhooks/webhook_call.h"

#include <algorithm>
#include <string>
#include <utility>

#include "sms/sparrow_http.h"
#include "util/crypto.h"
#include "util/webhook_signature.h"

namespace phoneverify::webhooks {

std::optional<std::string> SigningKey(std::string_view outbox_key, std::string_view sealed) {
  std::optional<std::string> secret = util::Open(outbox_key, sealed);
  if (!secret) return std::nullopt;
  std::optional<std::string> key = util::ParseWebhookSecret(*secret);
  std::fill(secret->begin(), secret->end(), '\0');
  return key;
}

sms::HttpCall BuildCall(const domain::WebhookEvent& event, std::string_view key_bytes,
                        int64_t now) {
  sms::HttpCall call;
  call.url = event.url;
  call.body = event.body;
  call.timeout_seconds = kTimeoutSeconds;
  call.headers = {
      "content-type: application/json",
      "Expect:",  // no 100-continue round trip before the body
      "webhook-id: " + event.event_id,
      "webhook-timestamp: " + std::to_string(now),
      "webhook-signature: " + util::WebhookSignature(key_bytes, event.event_id, now, call.body),
  };
  return call;
}

Verdict Judge(const sms::HttpAnswer& answer) {
  Verdict verdict;
  if (answer.curl_code != 0) {
    verdict.detail = sms::InterpretCurlFailure(answer.curl_code).detail;
    return verdict;
  }
  verdict.status = answer.status;
  verdict.detail = "http " + std::to_string(answer.status);
  if (answer.status >= 200 && answer.status < 300) {
    verdict.kind = Verdict::Kind::kDelivered;
    verdict.detail.clear();
  } else if (answer.status == 410) {
    verdict.kind = Verdict::Kind::kGone;
  }
  return verdict;
}

}  // namespace phoneverify::webhooks
