#include "http/error_mapping.h"

#include <json/value.h>

#include <algorithm>
#include <optional>
#include <string>

namespace phoneverify::http {
namespace {

using util::ErrorKind;

struct KindInfo {
  ErrorKind kind;
  int status;
  const char* default_code;  // used when an Error arrives without a code
};

constexpr KindInfo kKinds[] = {
    {ErrorKind::kInvalidInput, 400, "invalid_request"},
    {ErrorKind::kNotAuthenticated, 401, "not_authenticated"},
    {ErrorKind::kForbidden, 403, "forbidden"},
    {ErrorKind::kNotFound, 404, "not_found"},
    {ErrorKind::kMethodNotAllowed, 405, "method_not_allowed"},
    {ErrorKind::kConflict, 409, "conflict"},
    {ErrorKind::kGone, 410, "gone"},
    {ErrorKind::kTooLarge, 413, "body_too_large"},
    {ErrorKind::kUnsupportedMedia, 415, "unsupported_media_type"},
    {ErrorKind::kRateLimited, 429, "too_many_requests"},
    {ErrorKind::kInternal, 500, "internal_error"},
    {ErrorKind::kUnavailable, 503, "unavailable"},
};

// An unknown kind is our bug, not the client's.
constexpr KindInfo kFallback = {ErrorKind::kInternal, 500, "internal_error"};

const KindInfo& InfoFor(ErrorKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  return kFallback;
}

}  // namespace

int HttpStatus(ErrorKind kind) { return InfoFor(kind).status; }

Response ErrorResponse(const util::Error& error) {
  const KindInfo& info = InfoFor(error.kind);
  std::string code = error.code.empty() ? info.default_code : error.code;
  std::string details = error.details.empty() ? ReasonPhrase(info.status) : error.details;
  // Internal failures may carry driver messages; the client gets none of it.
  if (info.status == 500) {
    code = "internal_error";
    details = "Internal error.";
  }
  if (info.status == 503 && code == "unavailable") details = "Service temporarily unavailable.";

  Json::Value body(Json::objectValue);
  body["status"] = info.status;
  body["code"] = code;
  body["details"] = details;
  if (!error.field.empty()) body["field"] = error.field;
  std::optional<int64_t> retry_after;
  if (error.retry_after) retry_after = std::max<int64_t>(0, *error.retry_after);
  if (retry_after) body["retry_after"] = Json::Int64(*retry_after);
  if (error.attempts_left) body["attempts_left"] = Json::Int64(*error.attempts_left);

  Response response = JsonResponse(info.status, body);
  if ((info.status == 429 || info.status == 503) && retry_after) {
    response.SetHeader("Retry-After", std::to_string(*retry_after));
  }
  if (info.status == 401) response.SetHeader("WWW-Authenticate", "Token");
  return response;
}

}  // namespace phoneverify::http
