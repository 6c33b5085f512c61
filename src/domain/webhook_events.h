// Webhook events of the verification API (contract section 7) as their deliverer sees
// them: rows of webhook_events (sql/015) written by the API's transactions, delivered
// after commit, at least once, in id order per verification.
//
// States: pending (due at next_attempt_at) -> sending (claimed under a token until its
// lease ends) -> delivered | dropped, or back to pending (a retry, or a release).
// Delivered and dropped are final.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace phoneverify::domain {

// An event claimed for delivery, with what its POST needs.
struct WebhookEvent {
  int64_t id = 0;
  std::string event_id;  // the webhook-id: the same on every try
  int64_t client_id = 0;
  int64_t verification_id = 0;
  std::string type;  // "verification.approved", "message.sent", ...
  std::string body;  // the exact JSON posted on every try; holds the phone: never logged
  int tries = 0;     // including this claim
  int64_t created_at = 0;
  std::string client_name;
  std::string url;            // the client's webhook_url at claim time
  std::string secret_sealed;  // util::Seal(outbox key, "whsec_..."): never logged
};

// A due event as Due() lists it: enough to choose which to claim.
struct WebhookCandidate {
  int64_t id = 0;
  int64_t client_id = 0;
};

// What a 410 Gone did (WebhookEventStore::MarkGone).
struct WebhookGone {
  bool held = false;      // the claim was still held: the event is now dropped
  bool disabled = false;  // this call disabled the client's webhook (it was on, same URL)
  int dropped = 0;        // the client's other pending events dropped with it
};

// A client's webhook as `phoneverify-admin client show` reports it.
struct WebhookClientState {
  int64_t pending = 0;      // events pending or being sent
  int64_t delivered = 0;    // events delivered (still kept: see retention)
  int64_t dropped = 0;      // events dropped (retries ran out, gone, undeliverable)
  std::string last_error;   // of the latest event that failed a try ("" when none)
  int64_t disabled_at = 0;  // api_clients.webhook_disabled_at (0: not disabled)
};

class WebhookEventStore {
 public:
  virtual ~WebhookEventStore() = default;

  // Events that may be claimed now, oldest due first: pending with next_attempt_at <=
  // now, or sending whose lease ran out (their dispatcher died); only of clients with a
  // webhook_url, the webhook not disabled and the client not disabled; never an event
  // while an earlier one (lower id) of its verification is pending or sending. At most
  // `per_client` per client and `max` in all. A read only: Claim decides.
  virtual util::Result<std::vector<WebhookCandidate>> Due(int64_t now, int per_client, int max) = 0;
  // Claims those of `ids` (as Due listed them: the order rule is Due's, not rechecked
  // here) that are still due and whose client still takes webhooks, each by its own committed
  // conditional UPDATE: state sending, tries + 1, `claim_token` (fresh per call, at most
  // 64 bytes), lease until now + lease_seconds. Returns the claimed events (by id), read
  // back by token with their client's URL, name and sealed secret. Two claimers never both
  // take an event: the second finds it leased.
  virtual util::Result<std::vector<WebhookEvent>> Claim(const std::vector<int64_t>& ids,
                                                        const std::string& claim_token, int64_t now,
                                                        int64_t lease_seconds) = 0;

  // The marks apply only to an event still 'sending' under `claim_token`; false (or
  // held = false) when the claim was lost. `error` is cut to 255 characters.
  virtual util::Result<bool> MarkDelivered(int64_t id, const std::string& claim_token,
                                           int64_t now) = 0;
  // Back to pending, due at `next_attempt_at`; the later pending events of its
  // verification are held back to that time too (they may not go first anyway).
  virtual util::Result<bool> MarkRetry(const WebhookEvent& event, const std::string& claim_token,
                                       int64_t next_attempt_at, const std::string& error) = 0;
  virtual util::Result<bool> MarkDropped(int64_t id, const std::string& claim_token,
                                         const std::string& error) = 0;
  // The endpoint answered 410 Gone, in one transaction: the event dropped; the client's
  // webhook disabled (webhook_disabled_at = now) unless it was already, or its URL changed
  // since the claim (a new URL is not gone); and, when this call disabled it, the
  // client's other pending events dropped (a new URL starts afresh).
  virtual util::Result<WebhookGone> MarkGone(const WebhookEvent& event,
                                             const std::string& claim_token, int64_t now,
                                             const std::string& error) = 0;
  // Hands a claimed event back unsent (a stop): due at once, the try given back.
  virtual util::Result<bool> Release(int64_t id, const std::string& claim_token) = 0;

  // Housekeeping, bounded batches: pending events of clients that cannot take them (no
  // webhook_url, webhook disabled, client disabled) are dropped; delivered and dropped
  // events finished before `prune_before` are deleted. Returns how many were dropped.
  virtual util::Result<int> Sweep(int64_t now, int64_t prune_before) = 0;

  // The webhook state of one client (for `client show`).
  virtual util::Result<WebhookClientState> ClientState(int64_t client_id) = 0;
};

}  // namespace phoneverify::domain
