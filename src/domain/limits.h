// Turning a window limit's usage into an answer: how long until one more event fits.
#pragma once

#include <cstdint>
#include <optional>

#include "domain/ports.h"

namespace phoneverify::domain {

// True when one more event would exceed `limit` (limit.max > 0).
inline bool IsExhausted(const WindowLimit& limit, const WindowUsage& usage) {
  return limit.max > 0 && usage.count >= limit.max;
}

// Seconds until the oldest event leaves the window (at least 1).
inline int64_t SecondsUntilFree(const WindowLimit& limit, const WindowUsage& usage,
                                int64_t now) {
  int64_t wait = usage.oldest + limit.window - now;
  return wait < 1 ? 1 : wait;
}

inline int64_t Remaining(const WindowLimit& limit, const WindowUsage& usage) {
  int64_t left = static_cast<int64_t>(limit.max) - usage.count;
  return left < 0 ? 0 : left;
}

}  // namespace phoneverify::domain
