#include "handlers/common.h"

#include "http/response.h"

namespace phoneverify::handlers {
namespace {

util::Error NotAuthenticated() {
  return util::Error::Make(util::ErrorKind::kNotAuthenticated, "not_authenticated",
                           "Authentication credentials were not provided or are invalid.");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

util::Result<std::string> RequestToken(const http::Request& request) {
  std::string_view header = Trim(request.authorization);
  size_t space = header.find(' ');
  if (space == std::string_view::npos) return NotAuthenticated();
  std::string_view scheme = header.substr(0, space);
  std::string_view token = Trim(header.substr(space + 1));
  bool known = http::EqualsIgnoreCase(scheme, "Token") || http::EqualsIgnoreCase(scheme, "Bearer");
  if (!known || token.empty() || token.find(' ') != std::string_view::npos) {
    return NotAuthenticated();
  }
  return std::string(token);
}

util::Result<domain::Account> RequireAccount(domain::AccountService& accounts,
                                             const http::Request& request) {
  auto token = RequestToken(request);
  if (!token.ok()) return token.error();
  return accounts.Authenticate(token.value());
}

util::Status RequireFields(const http::Fields& fields,
                           std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    auto it = fields.find(std::string(name));
    if (it == fields.end() || it->second.empty()) {
      return util::Error::Make(util::ErrorKind::kInvalidInput, "missing_field",
                               "This field is required.", std::string(name));
    }
  }
  return util::Status::Ok();
}

std::string FieldOr(const http::Fields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

Json::Value AccountJson(const domain::Account& account) {
  Json::Value json(Json::objectValue);
  json["id"] = Json::Int64(account.id);
  json["username"] = account.username;
  json["email"] = account.email;
  json["first_name"] = account.first_name;
  json["last_name"] = account.last_name;
  json["phone"] = account.phone ? Json::Value(*account.phone) : Json::Value();
  json["phone_verified"] = account.phone_verified;
  return json;
}

Json::Value IntOrNull(const std::optional<int64_t>& value) {
  return value ? Json::Value(Json::Int64(*value)) : Json::Value();
}

}  // namespace phoneverify::handlers
