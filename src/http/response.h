// The HTTP response value and JSON helpers. Bodies are written with jsoncpp's
// StreamWriterBuilder (no indentation, UTF-8 emitted as is).
#pragma once

#include <json/value.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phoneverify::http {

inline constexpr char kJsonContentType[] = "application/json; charset=utf-8";
inline constexpr char kHtmlContentType[] = "text/html; charset=utf-8";

struct Response {
  int status = 200;
  // In order; a name may repeat (Set-Cookie).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Replaces every header of that name (case-insensitive), then appends one.
  void SetHeader(std::string_view name, std::string value);
  void AddHeader(std::string name, std::string value);
  // First value of the header, or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

// Compact JSON text of `value`.
std::string WriteJson(const Json::Value& value);
// `status` with a JSON body and Content-Type application/json; charset=utf-8.
Response JsonResponse(int status, const Json::Value& body);
// `status` with no body and no Content-Type (204).
Response EmptyResponse(int status);
// `status` with an HTML body, Content-Type text/html; charset=utf-8, and the headers every
// page carries: a Content-Security-Policy that allows no script and only our own
// stylesheet, forms and images; no framing; same-origin referrers.
Response HtmlResponse(int status, std::string html);
// 303 See Other to `location` (a path on this site), empty body.
Response SeeOther(std::string location);
// "OK", "Not Found", ...; "Unknown" for codes not listed.
const char* ReasonPhrase(int status);
// ASCII case-insensitive equality (header names, media types).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace phoneverify::http
