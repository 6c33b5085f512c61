// When a webhook event whose try failed is tried again (contract section 7): exponential
// backoff with jitter, the first retry within 5 s, the delay doubling up to 1 h, for at
// least 24 h after the event was created; then it is dropped.
//
// After try n (1-based) failed at `now`: nominal delay d = min(kFirstDelay * 2^(n-1),
// kMaxDelay), the actual delay uniform in [d/2, d] (whole seconds, at least 1), so
// deliverers that failed together do not come back together. Dropped only when the
// failed try was made kRetryWindow or more after creation, so tries go on for at least
// that long. Pure, apart from the injected randomness.
#pragma once

#include <cstdint>
#include <optional>

#include "util/random.h"

namespace phoneverify::webhooks {

inline constexpr int64_t kFirstDelaySeconds = 5;
inline constexpr int64_t kMaxDelaySeconds = 3600;
inline constexpr int64_t kRetryWindowSeconds = 24 * 3600;

// The nominal (largest) delay after try `tries` failed; tries < 1 counts as 1.
int64_t NominalDelay(int tries);

// When to try again after try `tries` of an event created at `created_at` failed at
// `now`; nullopt: drop it.
std::optional<int64_t> NextAttempt(int tries, int64_t created_at, int64_t now,
                                   util::Random& random);

}  // namespace phoneverify::webhooks
