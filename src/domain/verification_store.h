// What the verification API (contract section 7) needs from storage. src/storage has the
// MariaDB version (verification_repository.h), tests/fakes an in-memory one.
//
// Re-run safety is the storage's: every POST runs as one transaction under an ApiRequest,
// whose answer is kept (api_answers, sql/015) in that same transaction when the request
// changed something. The key is the client's Idempotency-Key, or a token the storage
// makes up itself, so that re-running a transaction whose COMMIT went unanswered finds
// its own first run. A request whose key already has an answer gets that answer back,
// marked replayed, and nothing runs: the domain's decider is not even called.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "domain/verification_resource.h"
#include "util/status.h"

namespace phoneverify::domain {

// A POST of the verification API, as re-run safety knows it.
struct ApiRequest {
  int64_t client_id = 0;
  std::string name;                       // method and path, e.g. "POST /api/v1/verifications"
  std::optional<std::string> client_key;  // the client's Idempotency-Key, if it sent one
  int64_t now = 0;
};

// What a POST answers: the verification object (ok), or an error. Kept for replays.
struct ApiAnswer {
  util::Status status;
  Json::Value object;  // when status is ok
  bool replayed = false;  // the answer of an earlier run of the same request
};

// A webhook event to store with the change (delivered after commit).
struct NewEvent {
  std::string event_id;  // "msg_" + 32 hex: the webhook-id
  std::string public_id;  // the verification it is about
  std::string type;
  std::string body;      // EventBody(...)
};

// An SMS to queue for the verification (start, resend); supersedes its undelivered one.
struct NewMessage {
  std::string sealed_text;
  int64_t expires_at = 0;
  std::string request_id;
};

// The domain's decision on a request, made from a snapshot under the transaction.
struct VerificationChange {
  ApiAnswer answer;  // an error answer with nothing to write rolls everything back
  // Written only when set: the row as it is to be (inserted when id == 0, else updated:
  // status, code_hash, attempts_used, sends, sent_at, expires_at).
  std::optional<VerificationRecord> record;
  std::vector<VerificationRecord> canceled;  // start: older pending ones it cancels
  std::vector<NewEvent> events;  // all events of the change, in order (none without a webhook)
  std::optional<NewMessage> message;
  bool count_send = false;  // record one event per limit of the plan (an SMS is sent)
};

// What a start sees: the phone's latest send (any client, any API), the limits' usage
// (plan order) and the client's pending verifications of the phone.
struct StartSnapshot {
  int64_t last_send_to_phone = 0;
  std::vector<WindowUsage> usage;
  std::vector<VerificationRecord> pending;
};

// What a request on an existing verification sees.
struct VerificationSnapshot {
  VerificationRecord record;
  int64_t last_send_to_phone = 0;
  std::vector<WindowUsage> usage;  // of the limits ChangePlan named
};

struct StartPlan {
  std::string phone;
  std::vector<WindowLimit> limits;  // locked (gates) before the snapshot is read
};

// For a request on an existing verification: which limits to read, and whether to lock
// them (a resend sends an SMS; a check only shows figures).
struct ChangePlan {
  std::vector<WindowLimit> limits;
  bool locks = false;
};

class VerificationStore {
 public:
  virtual ~VerificationStore() = default;

  // One transaction: lock the plan's gates and the phone's last-send gate, read the
  // snapshot, call `decide`; apply its change (cancel `canceled`, insert the record and
  // its message, count the send, store the events), keep the answer, commit.
  virtual util::Result<ApiAnswer> Start(
      const ApiRequest& request, const StartPlan& plan,
      const std::function<VerificationChange(const StartSnapshot&)>& decide) = 0;

  // One transaction on the client's verification `public_id` (404 not_found when it is
  // not one of the client's): lock its row (and with plan.locks the plan's gates and the
  // phone's last-send gate, before the row), read the snapshot, call `decide`, apply.
  virtual util::Result<ApiAnswer> Change(
      const ApiRequest& request, const std::string& public_id,
      const std::function<ChangePlan(const VerificationRecord&)>& plan,
      const std::function<VerificationChange(const VerificationSnapshot&)>& decide) = 0;

  // The client's verification with its figures' inputs, or nullopt; no lock.
  virtual util::Result<std::optional<VerificationSnapshot>> Find(
      int64_t client_id, const std::string& public_id, int64_t now,
      const std::function<ChangePlan(const VerificationRecord&)>& plan) = 0;
};

}  // namespace phoneverify::domain
