// Asking Sparrow for the account's remaining credit: GET <credit url>?token=<token>
// (libcurl). The token never appears in a returned message.
//
// Requires a live sms::CurlGlobal. Blocks for at most `timeout_seconds`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace phoneverify::sms {

struct SparrowCredit {
  int64_t credits_available = 0;
  // The reply's other scalar members (e.g. last_balance_added, last_balance_added_on),
  // in the order Sparrow sent them, values as text.
  std::vector<std::pair<std::string, std::string>> details;
};

// Errors: kUnavailable (transport failure, timeout, 5xx, 408/429, unreadable reply);
// kForbidden with code "sparrow_<n>" and details "sparrow <n>: <text>" for Sparrow's
// documented errors (1000-1013, e.g. 1002 invalid token); kInternal for other replies.
util::Result<SparrowCredit> QuerySparrowCredit(const std::string& credit_url,
                                               const std::string& token, int timeout_seconds);

// Classifies a completed HTTP exchange (exposed for unit tests).
util::Result<SparrowCredit> InterpretCreditReply(long http_status, std::string_view body);

}  // namespace phoneverify::sms
