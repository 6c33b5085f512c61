#include "handlers/routes.h"

#include "handlers/account_handlers.h"
#include "handlers/health_handler.h"
#include "handlers/metrics_handler.h"
#include "handlers/otp_handlers.h"
#include "handlers/verification_handlers.h"

namespace phoneverify::handlers {

std::vector<http::Route> BuildRoutes(const Services& services) {
  domain::AccountService& acc = services.accounts;
  domain::VerificationService& ver = services.verification;
  domain::HealthCheck& health = services.health;
  using R = const http::Request&;
  std::vector<http::Route> routes = {
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
  if (services.verification_api != nullptr) {
    VerificationApi& api = *services.verification_api;
    const std::string base = "/api/v1/verifications";
    std::vector<http::Route> api_routes = {
        {"POST", base, [&api](R r) { return StartVerification(api, r); }},
        {"GET", base + "/{id}", [&api](R r) { return GetVerification(api, r); }},
        {"POST", base + "/{id}/check", [&api](R r) { return CheckVerification(api, r); }},
        {"POST", base + "/{id}/resend", [&api](R r) { return ResendVerification(api, r); }},
        {"POST", base + "/{id}/cancel", [&api](R r) { return CancelVerification(api, r); }},
    };
    routes.insert(routes.end(), api_routes.begin(), api_routes.end());
  }
  if (services.pages == nullptr) return routes;
  PageHandlers& pages = *services.pages;
  std::vector<http::Route> page_routes = {
      {"GET", "/signup", [&pages](R r) { return pages.SignupForm(r); }},
      {"POST", "/signup", [&pages](R r) { return pages.Signup(r); }},
      {"GET", "/login", [&pages](R r) { return pages.LoginForm(r); }},
      {"POST", "/login", [&pages](R r) { return pages.Login(r); }},
      {"GET", "/verify", [&pages](R r) { return pages.VerifyForm(r); }},
      {"POST", "/verify", [&pages](R r) { return pages.Verify(r); }},
      {"POST", "/verify/resend", [&pages](R r) { return pages.Resend(r); }},
      {"GET", "/account", [&pages](R r) { return pages.Account(r); }},
      {"POST", "/logout", [&pages](R r) { return pages.Logout(r); }},
      {"GET", "/auth/check", [&pages](R r) { return pages.AuthCheck(r); }},
  };
  routes.insert(routes.end(), page_routes.begin(), page_routes.end());
  return routes;
}

}  // namespace phoneverify::handlers
