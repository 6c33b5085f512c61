#include "handlers/verification_handlers.h"

#include "handlers/common.h"
#include "http/client_ip.h"
#include "http/fields.h"
#include "http/router.h"
#include "util/crypto.h"

namespace phoneverify::handlers {
namespace {

using util::Error;
using util::ErrorKind;

constexpr size_t kIdSegment = 3;  // /api/v1/verifications/{id}

Error NotAuthenticated() {
  return Error::Make(ErrorKind::kNotAuthenticated, "not_authenticated",
                     "Authentication credentials were not provided or are invalid.");
}

// The active client whose API key the request carries.
util::Result<domain::ApiClient> RequireClient(VerificationApi& api, const http::Request& request) {
  auto key = RequestToken(request);
  if (!key.ok()) return key.error();
  if (key.value().rfind(domain::kApiKeyPrefix, 0) != 0) return NotAuthenticated();
  auto client = api.clients.FindByKeyHash(util::Hash(key.value()), api.clock.NowSeconds());
  if (!client.ok()) return client.error();
  if (!client.value() || client.value()->disabled) return NotAuthenticated();
  return std::move(*client.value());
}

// The client and its Idempotency-Key; a malformed key is refused, not dropped (a retry
// that silently lost its key could send a second SMS).
util::Result<domain::ApiCaller> RequireCaller(VerificationApi& api, const http::Request& request) {
  auto client = RequireClient(api, request);
  if (!client.ok()) return client.error();
  if (request.idempotency_key_malformed) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_field",
                       "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                       "Idempotency-Key");
  }
  domain::ApiCaller caller{std::move(client.value()), std::nullopt, request.request_id};
  if (!request.idempotency_key.empty()) caller.idempotency_key = request.idempotency_key;
  return caller;
}

std::string IdOf(const http::Request& request) {
  return std::string(http::PathSegment(request.path, kIdSegment));
}

util::Result<http::Response> Answer(int status, const util::Result<domain::ApiAnswer>& answer) {
  if (!answer.ok()) return answer.error();
  if (!answer.value().status.ok()) return answer.value().status.error();
  http::Response response = http::JsonResponse(status, answer.value().object);
  if (answer.value().replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

// The end user's address as per-IP limits count it: `client_ip` when given, else the
// caller's own.
util::Result<std::string> IpKeyOf(VerificationApi& api, const http::Request& request,
                                  const std::string& client_ip) {
  if (client_ip.empty()) return request.client_key;
  auto ip = http::NormalizeIp(client_ip);
  if (!ip) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_field",
                       "client_ip must be an IPv4 or IPv6 address.", "client_ip");
  }
  return http::LimitKey(*ip, api.ipv6_limit_prefix);
}

}  // namespace

util::Result<http::Response> StartVerification(VerificationApi& api,
                                               const http::Request& request) {
  auto caller = RequireCaller(api, request);
  if (!caller.ok()) return caller.error();
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  if (auto st = RequireFields(f, {"phone"}); !st.ok()) return st.error();
  auto ip_key = IpKeyOf(api, request, FieldOr(f, "client_ip"));
  if (!ip_key.ok()) return ip_key.error();
  domain::StartInput input;
  input.phone = FieldOr(f, "phone");
  input.lang = FieldOr(f, "lang");
  input.reference = FieldOr(f, "reference");
  input.has_reference = !input.reference.empty();
  input.app_hash = FieldOr(f, "app_hash");
  input.ip_key = ip_key.value();
  return Answer(201, api.service.Start(caller.value(), input));
}

util::Result<http::Response> GetVerification(VerificationApi& api, const http::Request& request) {
  auto client = RequireClient(api, request);
  if (!client.ok()) return client.error();
  auto object = api.service.Get(client.value(), IdOf(request));
  if (!object.ok()) return object.error();
  return http::JsonResponse(200, object.value());
}

util::Result<http::Response> CheckVerification(VerificationApi& api,
                                               const http::Request& request) {
  auto caller = RequireCaller(api, request);
  if (!caller.ok()) return caller.error();
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  if (auto st = RequireFields(fields.value(), {"code"}); !st.ok()) return st.error();
  return Answer(200, api.service.Check(caller.value(), IdOf(request),
                                       FieldOr(fields.value(), "code")));
}

util::Result<http::Response> ResendVerification(VerificationApi& api,
                                                const http::Request& request) {
  auto caller = RequireCaller(api, request);
  if (!caller.ok()) return caller.error();
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  return Answer(202, api.service.Resend(caller.value(), IdOf(request),
                                        FieldOr(fields.value(), "lang")));
}

util::Result<http::Response> CancelVerification(VerificationApi& api,
                                                const http::Request& request) {
  auto caller = RequireCaller(api, request);
  if (!caller.ok()) return caller.error();
  if (!request.body.empty()) {
    auto fields = http::ParseFields(request);
    if (!fields.ok()) return fields.error();
  }
  return Answer(200, api.service.Cancel(caller.value(), IdOf(request)));
}

}  // namespace phoneverify::handlers
