// The generic signed JSON gateway (sms_backend = http, contract section 6): for any
// provider the operator bridges to. Each message is a POST to the configured URL of
//   {"id":"<message id>","text":"...","to":"98..."}
// (compact, UTF-8 as is) with Content-Type and Accept application/json and the Standard
// Webhooks headers webhook-id (the message id: the same on every try and every backend),
// webhook-timestamp (this try's Unix seconds) and webhook-signature (util::WebhookSignature
// over exactly the body).
//
// The answer:
//   libcurl failure (timeout, connect, ...)  -> kTransient (InterpretCurlFailure's detail)
//   2xx                                      -> kDelivered, gateway_code = status
//   408, 429                                 -> kTransient, "http 429"
//   other 4xx                                -> kPermanent, "http 400" (this message only)
//   anything else (5xx, 3xx, ...)            -> kTransient, "http 502"
// gateway_code is the HTTP status whenever there is one. The detail never holds the
// reply body, the text, the phone or the key. No I/O and no mutable state: thread-safe.
#pragma once

#include <string>

#include "sms/sms_backend.h"

namespace phoneverify::sms {

class HttpBackend final : public SmsBackend {
 public:
  // `key_bytes`: the signing key, util::ParseWebhookSecret(sms_http_secret) (not empty;
  // checked at start-up). timeout_seconds <= 0 means 10.
  HttpBackend(std::string url, std::string key_bytes, int timeout_seconds);

  const char* Name() const override { return "http"; }
  Prepared Prepare(const OutgoingSms& sms) override;
  SendResult Interpret(const OutgoingSms& sms, const HttpAnswer& answer) const override;

 private:
  std::string url_;
  std::string key_bytes_;
  int timeout_seconds_;
};

}  // namespace phoneverify::sms
