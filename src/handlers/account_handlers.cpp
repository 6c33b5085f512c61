#include "handlers/account_handlers.h"

#include "handlers/common.h"
#include "http/fields.h"

namespace phoneverify::handlers {

util::Result<http::Response> CreateAccount(domain::AccountService& accounts,
                                           const http::Request& request) {
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  if (auto st = RequireFields(f, {"username", "password"}); !st.ok()) return st.error();
  domain::SignUpInput input{FieldOr(f, "username"),   FieldOr(f, "password"),  FieldOr(f, "email"),
                            FieldOr(f, "first_name"), FieldOr(f, "last_name"), FieldOr(f, "phone")};
  auto account = accounts.SignUp(input, request.client_key);
  if (!account.ok()) return account.error();
  return http::JsonResponse(201, AccountJson(account.value()));
}

util::Result<http::Response> CreateToken(domain::AccountService& accounts,
                                         const http::Request& request) {
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  if (auto st = RequireFields(f, {"username", "password"}); !st.ok()) return st.error();
  auto token = accounts.Login(FieldOr(f, "username"), FieldOr(f, "password"),
                              request.client_key);
  if (!token.ok()) return token.error();
  Json::Value body(Json::objectValue);
  body["token"] = token.value();
  return http::JsonResponse(200, body);
}

util::Result<http::Response> DeleteToken(domain::AccountService& accounts,
                                         const http::Request& request) {
  auto account = RequireAccount(accounts, request);
  if (!account.ok()) return account.error();
  auto token = RequestToken(request);
  if (!token.ok()) return token.error();
  if (auto st = accounts.Logout(token.value()); !st.ok()) return st.error();
  return http::EmptyResponse(204);
}

util::Result<http::Response> GetMe(domain::AccountService& accounts, const http::Request& request) {
  auto account = RequireAccount(accounts, request);
  if (!account.ok()) return account.error();
  return http::JsonResponse(200, AccountJson(account.value()));
}

}  // namespace phoneverify::handlers
