// Cookies: reading one from the Cookie header, writing Set-Cookie values (RFC 6265).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace phoneverify::http {

// The value of the first cookie called `name` in a Cookie header ("a=1; b=2"); nullopt
// when there is none. Values in double quotes are returned without them.
std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name);

struct CookieAttributes {
  std::optional<int64_t> max_age;  // nullopt: a session cookie; 0 deletes the cookie
  bool http_only = true;
  bool secure = false;  // set when the request came over https
  const char* same_site = "Lax";
  const char* path = "/";
};

// "name=value; Path=/; Max-Age=N; HttpOnly; Secure; SameSite=Lax". `name` and `value`
// must be cookie-safe tokens (the callers use hex ids and fixed words).
std::string SetCookieValue(std::string_view name, std::string_view value,
                           const CookieAttributes& attributes);

}  // namespace phoneverify::http
