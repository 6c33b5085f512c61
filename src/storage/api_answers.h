// Re-run safety for the verification API's writes (domain/verification_store.h): the
// answer of each request that changed something is kept in api_answers (sql/015), in the
// same transaction as the change, under the client's Idempotency-Key or a token made up
// here. RunOnce is the only way those writes run:
//
//   RunOnce(db, random, request, work)
//     one Database::TransactIdempotent transaction: the kept answer of (client, request,
//     key) from the last 24 h, if any, is the result (replayed, nothing runs); otherwise
//     `work` runs and says what it answers and whether it wrote. A write commits with
//     the answer kept; an answer that wrote nothing rolls everything back and is not kept
//     (a refusal: asking again later may get another answer).
//
// After a COMMIT lost with its connection, TransactIdempotent runs the transaction again
// on a new connection (perhaps another node): the token then finds the first run's
// answer, so nothing is written twice. Internal to src/storage.
#pragma once

#include <cstdint>
#include <functional>

#include "domain/verification_store.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::storage {

class Connection;
class Database;

inline constexpr int64_t kAnswerKeepSeconds = 24 * 3600;

// What a request's work did: its answer, and whether it wrote anything.
struct Outcome {
  domain::ApiAnswer answer;
  bool wrote = false;
};

util::Result<domain::ApiAnswer> RunOnce(
    Database& db, util::Random& random, const domain::ApiRequest& request,
    const std::function<util::Result<Outcome>(Connection&)>& work);

// Deletes up to `max` answers kept before `before`; how many went.
util::Result<int64_t> PruneAnswers(Connection& conn, int64_t before, int max);

}  // namespace phoneverify::storage
