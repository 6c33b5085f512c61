// Standard Webhooks signing (https://www.standardwebhooks.com, contract section 7): the
// `webhook-signature` header of a POST whose receiver holds a `whsec_` secret. Used by the
// `http` SMS backend and meant for the customer webhooks. Pure functions, thread-safe once
// util::InitCrypto() has succeeded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace phoneverify::util {

// Fewest key bytes a secret may decode to (the scheme's minimum is 24; we are a little
// laxer, as the contract is: "at least 16 bytes").
inline constexpr size_t kMinWebhookKeyBytes = 16;

// The HMAC key of a secret "whsec_<base64>" (standard alphabet, padded): the decoded
// bytes. nullopt when the prefix is missing, the base64 is malformed (whitespace
// included), or it decodes to fewer than kMinWebhookKeyBytes bytes.
std::optional<std::string> ParseWebhookSecret(std::string_view secret);

// "whsec_" + base64 (standard alphabet, padded) of `key_bytes`: the form a secret is
// handed to a receiver in, which ParseWebhookSecret reads back to `key_bytes`.
std::string FormatWebhookSecret(std::string_view key_bytes);

// "v1," + base64(HMAC-SHA256(key_bytes, id + "." + decimal timestamp + "." + body)).
// `key_bytes` may be of any length (ParseWebhookSecret's result); `timestamp` is the Unix
// seconds also sent as `webhook-timestamp`.
std::string WebhookSignature(std::string_view key_bytes, std::string_view id,
                             int64_t timestamp, std::string_view body);

}  // namespace phoneverify::util
