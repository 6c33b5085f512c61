// Small helpers shared by the route handlers: authentication from the Authorization
// header, required fields, and the JSON shapes of contract section 4.
#pragma once

#include <json/value.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "domain/account.h"
#include "domain/account_service.h"
#include "http/fields.h"
#include "http/request.h"
#include "util/status.h"

namespace phoneverify::handlers {

// The token of `Authorization: Token <t>` or `Bearer <t>` (scheme case-insensitive).
// 401 not_authenticated when the header is missing or has another form.
util::Result<std::string> RequestToken(const http::Request& request);

// RequestToken, then AccountService::Authenticate.
util::Result<domain::Account> RequireAccount(domain::AccountService& accounts,
                                             const http::Request& request);

// 400 missing_field naming the first of `names` that is absent or empty.
util::Status RequireFields(const http::Fields& fields,
                           std::initializer_list<std::string_view> names);

// The field's value, "" when absent.
std::string FieldOr(const http::Fields& fields, const std::string& name);

// {"id","username","email","first_name","last_name","phone" (null until verified),
//  "phone_verified"}.
Json::Value AccountJson(const domain::Account& account);

// The number, or JSON null.
Json::Value IntOrNull(const std::optional<int64_t>& value);

}  // namespace phoneverify::handlers
