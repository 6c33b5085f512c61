// POST /api/v1/phone/send-otp, POST /api/v1/phone/verify-otp, GET /api/v1/phone/otp.
// All three need a token (401 not_authenticated).
#pragma once

#include "domain/account_service.h"
#include "domain/verification_service.h"
#include "http/request.h"
#include "http/response.h"
#include "util/status.h"

namespace phoneverify::handlers {

// 202 {"status":202,"details","phone","operator","expires_in","resend_in","sends_left"}.
// Fields: phone, optional lang ("en" default, "ne"; else 400 invalid_field) for the SMS.
util::Result<http::Response> SendOtp(domain::AccountService& accounts,
                                     domain::VerificationService& verification,
                                     const http::Request& request);
// 200 {"status":200,"details","phone","phone_verified":true}.
util::Result<http::Response> VerifyOtp(domain::AccountService& accounts,
                                       domain::VerificationService& verification,
                                       const http::Request& request);
// 200 {"phone","state","delivery","delivery_error","expires_in","resend_in",
//      "attempts_left","sends_left"} for ?phone=.
util::Result<http::Response> OtpStatus(domain::AccountService& accounts,
                                       domain::VerificationService& verification,
                                       const http::Request& request);

}  // namespace phoneverify::handlers
