// One try of a webhook event as an HTTP call, and what its answer means (contract
// section 7, the Standard Webhooks scheme). Pure functions: thread-safe once
// util::InitCrypto() has succeeded.
//
// The call: POST of the event's body, as stored, to the client's URL with
//   content-type: application/json
//   webhook-id: <event_id>                 (the same on every try)
//   webhook-timestamp: <now>               (Unix seconds of this try)
//   webhook-signature: v1,<base64 HMAC-SHA256 over "<id>.<now>.<body>">
// and a timeout of kTimeoutSeconds for the whole exchange. The transport follows no
// redirects and verifies TLS (sms::ConfigureGatewayCall).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/webhook_events.h"
#include "sms/sms_backend.h"

namespace phoneverify::webhooks {

inline constexpr int kTimeoutSeconds = 10;

// The HMAC key of a client: its sealed "whsec_..." secret opened with the outbox key,
// then util::ParseWebhookSecret. nullopt when it does not open or does not parse (wrong
// outbox key, a damaged row). The caller wipes the result after use.
std::optional<std::string> SigningKey(std::string_view outbox_key, std::string_view sealed);

// The call for one try of `event` at `now` signed with `key_bytes`.
sms::HttpCall BuildCall(const domain::WebhookEvent& event, std::string_view key_bytes, int64_t now);

struct Verdict {
  enum class Kind { kDelivered, kRetry, kGone };
  Kind kind = Kind::kRetry;
  long status = 0;     // the HTTP status, 0 when none came
  std::string detail;  // "http 500", "timeout", "connect failed", ...; never the reply body
};

// 2xx: delivered. 410: gone. Anything else (other statuses, redirects included; a
// timeout or other libcurl failure): retry.
Verdict Judge(const sms::HttpAnswer& answer);

}  // namespace phoneverify::webhooks
