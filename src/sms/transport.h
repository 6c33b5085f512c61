// Where the dispatcher's HTTP calls run while it does other things: Start hands a call
// over, Wait returns the calls that finished. The real one is CurlMultiTransport (libcurl
// multi: every call in flight at once from one thread, connections kept alive and
// reused); unit tests use a scripted one on fake time.
// Not thread-safe, except Wake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sms/sms_backend.h"

namespace phoneverify::sms {

class Transport {
 public:
  struct Finished {
    uint64_t tag = 0;  // the caller's, from Start
    HttpAnswer answer;
  };

  virtual ~Transport() = default;
  // Starts `call` (its body is wiped once sent). A call that cannot even be started
  // finishes at the next Wait with a libcurl error code.
  virtual void Start(uint64_t tag, HttpCall call) = 0;
  // Runs the calls in flight for up to `max_ms` (0: only what is ready now) and returns
  // those that finished; returns early when one finishes or Wake is called.
  virtual std::vector<Finished> Wait(int max_ms) = 0;
  virtual size_t in_flight() const = 0;
  // Ends a Wait in progress early (from any thread).
  virtual void Wake() = 0;
};

}  // namespace phoneverify::sms
