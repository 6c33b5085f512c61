// Routes of the verification API for backends (contract section 7), under
// /api/v1/verifications. Callers authenticate with an API key (`Authorization: Bearer
// pvk_...` or `Token pvk_...`); an account's token gets 401 here, as an API key does on
// every other route. Every POST takes an Idempotency-Key (1 to 255 printable ASCII).
#pragma once

#include "domain/api_client.h"
#include "domain/api_verification_service.h"
#include "http/request.h"
#include "http/response.h"
#include "util/clock.h"
#include "util/status.h"

namespace phoneverify::handlers {

struct VerificationApi {
  domain::ApiVerificationService& service;
  domain::ApiClientRepository& clients;
  const util::Clock& clock;
  int ipv6_limit_prefix = 64;  // how a `client_ip` counts toward per-IP limits
};

util::Result<http::Response> StartVerification(VerificationApi& api, const http::Request& request);
util::Result<http::Response> GetVerification(VerificationApi& api, const http::Request& request);
util::Result<http::Response> CheckVerification(VerificationApi& api, const http::Request& request);
util::Result<http::Response> ResendVerification(VerificationApi& api,
                                                const http::Request& request);
util::Result<http::Response> CancelVerification(VerificationApi& api,
                                                const http::Request& request);

}  // namespace phoneverify::handlers
