#include "webhooks/retry_schedule.h"

#include <algorithm>

namespace phoneverify::webhooks {

int64_t NominalDelay(int tries) {
  int64_t delay = kFirstDelaySeconds;
  for (int i = 1; i < tries && delay < kMaxDelaySeconds; ++i) delay *= 2;
  return std::min(delay, kMaxDelaySeconds);
}

std::optional<int64_t> NextAttempt(int tries, int64_t created_at, int64_t now,
                                   util::Random& random) {
  if (now - created_at >= kRetryWindowSeconds) return std::nullopt;
  const int64_t nominal = NominalDelay(tries);
  const int64_t least = std::max<int64_t>(1, nominal / 2);
  const auto spread = static_cast<uint32_t>(nominal - least + 1);
  return now + least + random.Uniform(spread);
}

}  // namespace phoneverify::webhooks
