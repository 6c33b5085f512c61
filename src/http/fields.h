// Request inputs as a flat name -> string map, from the body (JSON object or
// application/x-www-form-urlencoded) or from the query string.
//
// Rules (contract section 4):
//  - An empty body is an empty set of fields, whatever the Content-Type says.
//  - A non-empty body needs Content-Type application/json or
//    application/x-www-form-urlencoded (a charset parameter, if any, must be UTF-8);
//    anything else: 415 unsupported_media_type.
//  - A body over the limit (Request::body_state == kTooLarge): 413 body_too_large.
//  - JSON: the root must be an object whose values are strings; null means "absent";
//    other value types: 400 invalid_field naming the field. Syntax errors, duplicate keys,
//    nesting deeper than kJsonMaxDepth, trailing data, invalid UTF-8 or NUL anywhere:
//    400 invalid_json.
//  - Forms and query strings: '&'-separated name=value pairs, '+' is a space, %XX escapes;
//    a bad escape, invalid UTF-8, NUL or a repeated name: 400 invalid_field (naming the
//    field when its name could be decoded).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"
#include "util/status.h"

namespace phoneverify::http {

using Fields = std::map<std::string, std::string>;

inline constexpr int kJsonMaxDepth = 32;

util::Result<Fields> ParseFields(const Request& request);
util::Result<Fields> ParseQuery(std::string_view query);

// Lower-level pieces, exposed for tests and for future form pages.
util::Result<Fields> ParseJsonObject(std::string_view body);
util::Result<Fields> ParseForm(std::string_view text);
// %XX decoding (and '+' -> ' ' when `plus_is_space`); nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace phoneverify::http
