#include "http/response.h"

#include <algorithm>

#include "util/json_text.h"

namespace phoneverify::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void Response::SetHeader(std::string_view name, std::string value) {
  std::erase_if(headers, [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

void Response::AddHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* Response::FindHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.first, name)) return &h.second;
  }
  return nullptr;
}

std::string WriteJson(const Json::Value& value) { return util::ToJson(value); }

Response JsonResponse(int status, const Json::Value& body) {
  Response response;
  response.status = status;
  response.SetHeader("Content-Type", kJsonContentType);
  response.body = WriteJson(body);
  return response;
}

Response EmptyResponse(int status) {
  Response response;
  response.status = status;
  return response;
}

Response HtmlResponse(int status, std::string html) {
  Response response;
  response.status = status;
  response.SetHeader("Content-Type", kHtmlContentType);
  response.SetHeader("Content-Security-Policy",
                     "default-src 'none'; style-src 'self'; img-src 'self'; "
                     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  response.SetHeader("X-Frame-Options", "DENY");
  response.SetHeader("Referrer-Policy", "same-origin");
  response.body = std::move(html);
  return response;
}

Response SeeOther(std::string location) {
  Response response;
  response.status = 303;
  response.SetHeader("Location", std::move(location));
  return response;
}

const char* ReasonPhrase(int status) {
  static constexpr std::pair<int, const char*> kPhrases[] = {
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {303, "See Other"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {409, "Conflict"},
      {410, "Gone"},
      {413, "Content Too Large"},
      {415, "Unsupported Media Type"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
  };
  for (const auto& [code, phrase] : kPhrases) {
    if (code == status) return phrase;
  }
  return "Unknown";
}

}  // namespace phoneverify::http
