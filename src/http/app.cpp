#include "http/app.h"

#include <json/value.h>

#include <algorithm>
#include <exception>
#include <optional>

#include "http/error_mapping.h"

namespace phoneverify::http {
namespace {

constexpr size_t kMaxRequestIdLength = 64;
constexpr size_t kMaxIdempotencyKeyLength = 255;

bool SaneRequestId(const std::string& id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Contract section 4: 1 to 255 printable ASCII characters (space to tilde).
bool ValidIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

// Label value for a method: a client may send anything, and every distinct label value
// costs a counter slot.
const char* MethodLabel(const std::string& method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

// The body was cut short on the way in: answer before any handler sees it.
std::optional<util::Error> BodyError(const Request& request) {
  switch (request.body_state) {
    case BodyState::kComplete:
      return std::nullopt;
    case BodyState::kTooLarge:
      return util::Error::Make(util::ErrorKind::kTooLarge, "body_too_large",
                               "The request body is too large.");
    case BodyState::kIncomplete:
      return util::Error::Make(util::ErrorKind::kInvalidInput, "incomplete_body",
                               "The request body is shorter than its Content-Length.");
    case BodyState::kBadLength:
      return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_content_length",
                               "Content-Length is not a number.");
  }
  return std::nullopt;
}

}  // namespace

std::string App::RequestIdFor(const std::string& x_request_id, util::Random& random) {
  return SaneRequestId(x_request_id) ? x_request_id : random.Hex(8);
}

Response App::Handle(Request request) {
  int64_t started = clock_.MonotonicMillis();
  try {
    request.request_id = RequestIdFor(request.x_request_id, random_);
    const bool key_valid = ValidIdempotencyKey(request.idempotency_key_header);
    request.idempotency_key = key_valid ? request.idempotency_key_header : "";
    request.idempotency_key_malformed = !key_valid && !request.idempotency_key_header.empty();
    request.client_ip =
        ClientIp(request.remote_addr, request.x_forwarded_for, clients_.proxies);
    request.client_key = LimitKey(request.client_ip, clients_.ipv6_limit_prefix);
    request.https = ClientUsesHttps(request.https, request.remote_addr,
                                    request.x_forwarded_proto, clients_);
    Outcome outcome = DispatchGuarded(request);
    Finish(request, outcome.response);
    Log(request, outcome, clock_.MonotonicMillis() - started);
    Count(request, outcome);
    return std::move(outcome.response);
  } catch (...) {
    // Only reachable if identifying or logging failed (out of memory): still answer.
    return ErrorResponse(util::Error::Internal());
  }
}

App::Outcome App::DispatchGuarded(const Request& request) {
  std::string what;
  try {
    return Dispatch(request);
  } catch (const std::exception& e) {
    what = std::string(e.what()).substr(0, 200);
  } catch (...) {
    what = "non-standard exception";
  }
  Json::Value fields(Json::objectValue);
  fields["request_id"] = request.request_id;
  fields["exception"] = what;
  logger_.Error("handler threw", fields);
  Outcome outcome;
  outcome.response = ErrorResponse(util::Error::Internal());
  outcome.error_code = "internal_error";
  return outcome;
}

App::Outcome App::Dispatch(const Request& request) {
  Outcome outcome;
  auto fail = [&](const util::Error& error) {
    outcome.response = ErrorResponse(error);
    outcome.error_code = error.code;
    return outcome;
  };
  auto found = router_.Find(request.method, request.path);
  if (!found.ok()) {
    fail(found.error());
    if (outcome.response.status == 405) {
      outcome.response.SetHeader("Allow", router_.AllowHeader(request.path));
    }
    return outcome;
  }
  const Route& route = *found.value();
  outcome.route = route.path;
  if (auto error = BodyError(request)) return fail(*error);
  util::Result<Response> result = route.handler(request);
  if (!result.ok()) return fail(result.error());
  outcome.response = std::move(result).value();
  return outcome;
}

void App::Finish(const Request& request, Response& response) const {
  response.SetHeader("X-Request-Id", request.request_id);
  if (!response.FindHeader("Cache-Control")) response.SetHeader("Cache-Control", "no-store");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  if (request.method == "HEAD") {
    response.SetHeader("Content-Length", std::to_string(response.body.size()));
    response.body.clear();
  }
}

void App::Count(const Request& request, const Outcome& outcome) {
  if (counters_ == nullptr) return;
  const std::string route = outcome.route == "-" ? "unmatched" : outcome.route;
  const std::string status = std::to_string(outcome.response.status);
  counters_->Add("phoneverify_http_requests_total{route=\"" + route + "\",method=\"" +
                 MethodLabel(request.method) + "\",status=\"" + status + "\"}");
  if (outcome.error_code.empty()) return;
  counters_->Add("phoneverify_http_errors_total{route=\"" + route + "\",status=\"" + status +
                 "\",code=\"" + outcome.error_code + "\"}");
}

void App::Log(const Request& request, const Outcome& outcome, int64_t duration_ms) {
  const Response& response = outcome.response;
  Json::Value fields(Json::objectValue);
  fields["request_id"] = request.request_id;
  fields["method"] = request.method.substr(0, 16);
  fields["route"] = outcome.route;
  fields["status"] = response.status;
  fields["duration_ms"] = Json::Int64(duration_ms);
  fields["client_ip"] = request.client_ip;
  if (!outcome.error_code.empty()) fields["error"] = outcome.error_code;
  if (response.status >= 500) {
    logger_.Error("request", fields);
  } else {
    logger_.Info("request", fields);
  }
}

}  // namespace phoneverify::http
