// The request pipeline, one short stage each:
//   identify (request id, client ip) -> route -> check body -> handler -> map errors
//   -> finish headers -> log.
// One catch (...) per request: no exception leaves Handle(); it becomes 500
// internal_error in the contract shape with nothing internal in it.
// One JSON log line per request: request_id, method, route pattern, status, duration_ms,
// client_ip (and the error code) -- never bodies, query strings, tokens or codes.
// With a util::Counters, each request also counts in
//   phoneverify_http_requests_total{route,method,status} and, for error answers,
//   phoneverify_http_errors_total{route,status,code}
// (route is the matched pattern or "unmatched"; unusual methods count as "other").
// Thread-compatible: one App per worker.
#pragma once

#include <string>

#include "http/client_ip.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "util/clock.h"
#include "util/counters.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::http {

class App {
 public:
  // All references (and `counters`, optional) must outlive the App.
  App(const Router& router, const ClientRules& clients, const util::Clock& clock,
      util::Random& random, util::Logger& logger, util::Counters* counters = nullptr)
      : router_(router),
        clients_(clients),
        clock_(clock),
        random_(random),
        logger_(logger),
        counters_(counters) {}

  // Serves one request; never throws. Adds X-Request-Id, Cache-Control: no-store (unless
  // the handler set one), X-Content-Type-Options: nosniff; HEAD answers carry no body.
  Response Handle(Request request);

  // The request id to use: the client's X-Request-Id when it is 1..64 characters of
  // [A-Za-z0-9._-], else 16 random hex characters.
  static std::string RequestIdFor(const std::string& x_request_id, util::Random& random);

 private:
  // What one request came to, for the response and the log line.
  struct Outcome {
    Response response;
    std::string route = "-";  // the matched pattern
    std::string error_code;   // "" on success
  };

  Outcome DispatchGuarded(const Request& request);
  Outcome Dispatch(const Request& request);
  void Finish(const Request& request, Response& response) const;
  void Log(const Request& request, const Outcome& outcome, int64_t duration_ms);
  void Count(const Request& request, const Outcome& outcome);

  const Router& router_;
  const ClientRules& clients_;
  const util::Clock& clock_;
  util::Random& random_;
  util::Logger& logger_;
  util::Counters* counters_;
};

}  // namespace phoneverify::http
