// POST /api/v1/accounts, POST and DELETE /api/v1/auth/token, GET /api/v1/me.
#pragma once

#include "domain/account_service.h"
#include "http/request.h"
#include "http/response.h"
#include "util/status.h"

namespace phoneverify::handlers {

// 201 account object. Fields: username, password, optional email, first_name,
// last_name, phone.
util::Result<http::Response> CreateAccount(domain::AccountService& accounts,
                                           const http::Request& request);
// 200 {"token"}. Fields: username, password.
util::Result<http::Response> CreateToken(domain::AccountService& accounts,
                                         const http::Request& request);
// 204, the presented token revoked.
util::Result<http::Response> DeleteToken(domain::AccountService& accounts,
                                         const http::Request& request);
// 200 account object of the token's owner.
util::Result<http::Response> GetMe(domain::AccountService& accounts, const http::Request& request);

}  // namespace phoneverify::handlers
