// The one place where an util::Error becomes HTTP: status code, the contract's error body
//   {"status", "code", "details"[, "field"][, "retry_after"][, "attempts_left"]}
// and headers (Retry-After on 429/503 when retry_after is set, WWW-Authenticate on 401).
// 500 answers never carry the internal details.
#pragma once

#include "http/response.h"
#include "util/status.h"

namespace phoneverify::http {

int HttpStatus(util::ErrorKind kind);
Response ErrorResponse(const util::Error& error);

}  // namespace phoneverify::http
