#include "handlers/routes.h"

#include "handlers/account_handlers.h"
#include "handlers/health_handler.h"
#include "handlers/metrics_handler.h"
#include "handlers/otp_handlers.h"

namespace phoneverify::handlers {

std::vector<http::Route> BuildRoutes(const Services& services) {
  domain::AccountService& acc = services.accounts;
  domain::VerificationService& ver = services.verification;
  domain::HealthCheck& health = services.health;
  using R = const http::Request&;
  return {
      {"POST", "/api/v1/accounts", [&acc](R r) { return CreateAccount(acc, r); }},
      {"POST", "/api/v1/auth/token", [&acc](R r) { return CreateToken(acc, r); }},
      {"DELETE", "/api/v1/auth/token", [&acc](R r) { return DeleteToken(acc, r); }},
      {"GET", "/api/v1/me", [&acc](R r) { return GetMe(acc, r); }},
      {"POST", "/api/v1/phone/send-otp", [&acc, &ver](R r) { return SendOtp(acc, ver, r); }},
      {"POST", "/api/v1/phone/verify-otp", [&acc, &ver](R r) { return VerifyOtp(acc, ver, r); }},
      {"GET", "/api/v1/phone/otp", [&acc, &ver](R r) { return OtpStatus(acc, ver, r); }},
      {"GET", "/healthz", [&health](R r) { return Health(health, r); }},
      {"GET", "/metrics",
       [counters = services.counters, metrics = services.metrics](R r) {
         return Metrics(counters, metrics, r);
       }},
  };
}

}  // namespace phoneverify::handlers
