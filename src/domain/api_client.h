// An API client of the verification API (contract section 7): a site that keeps its own
// users and calls phoneverify server to server with an API key. Stored in api_clients
// (sql/015); managed by `phoneverify-admin client ...`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "domain/otp_policy.h"
#include "util/status.h"

namespace phoneverify::domain {

// API keys are "pvk_" + 64 hex characters (256 random bits); stored only as Hash(key).
inline constexpr char kApiKeyPrefix[] = "pvk_";

struct ApiClient {
  int64_t id = 0;
  std::string name;
  // Settings; nullopt follows the configuration (OtpPolicy).
  std::optional<std::string> brand;      // at most 20 GSM-7 characters
  std::optional<int> code_length;        // 4 to 10
  std::optional<int64_t> ttl;            // seconds, >= 1
  std::optional<int> max_attempts;       // 0 = unlimited
  std::optional<int> max_sends_per_day;  // the client's own SMS in 24 h; 0 = no cap
  std::string webhook_url;               // "" = no webhook
  bool webhook_disabled = false;         // the endpoint answered 410
  bool disabled = false;
};

// The code rules a client's verifications follow: its settings, else the policy's.
struct ClientCodeRules {
  std::string brand;  // "phoneverify" when unset
  int code_length = 0;
  int64_t ttl = 0;
  int max_attempts = 0;       // 0 = unlimited
  int max_sends_per_day = 0;  // 0 = no cap of its own
};

inline ClientCodeRules CodeRulesOf(const ApiClient& client, const OtpPolicy& policy) {
  ClientCodeRules rules;
  rules.brand = client.brand.value_or("phoneverify");
  rules.code_length = client.code_length.value_or(policy.otp_length);
  rules.ttl = client.ttl.value_or(policy.otp_ttl);
  rules.max_attempts = client.max_attempts.value_or(policy.otp_max_attempts);
  rules.max_sends_per_day = client.max_sends_per_day.value_or(0);
  return rules;
}

// What the verification API needs to resolve a caller.
class ApiClientRepository {
 public:
  virtual ~ApiClientRepository() = default;
  // The client whose current key, or whose previous key still in its grace period at
  // `now`, has this hash (Hash(key), 32 raw bytes); nullopt when none. Disabled clients
  // are returned too (the caller answers 401 for them).
  virtual util::Result<std::optional<ApiClient>> FindByKeyHash(const std::string& key_hash,
                                                               int64_t now) = 0;
};

}  // namespace phoneverify::domain
