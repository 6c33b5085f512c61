#include "fcgi/cgi_params.h"

#include <algorithm>
#include <optional>

namespace phoneverify::fcgi {
namespace {

constexpr int kChunk = 16384;

std::optional<size_t> ParseLength(const std::string& text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value;
}

bool SafeHeaderText(const std::string& text) {
  return text.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

}  // namespace

http::Request RequestFromParams(const ParamLookup& param) {
  auto text = [&](const char* name) {
    const char* value = param(name);
    return value ? std::string(value) : std::string();
  };
  http::Request request;
  request.method = text("REQUEST_METHOD");
  std::string uri = text("REQUEST_URI");
  if (uri.empty()) uri = text("SCRIPT_NAME") + text("PATH_INFO");
  request.path = PathOfUri(uri);
  if (const char* query = param("QUERY_STRING")) {
    request.query = query;
  } else if (size_t q = uri.find('?'); q != std::string::npos) {
    request.query = uri.substr(q + 1, uri.find('#', q) - q - 1);
  }
  request.content_type = text("CONTENT_TYPE");
  request.authorization = text("HTTP_AUTHORIZATION");
  request.cookie = text("HTTP_COOKIE");
  request.accept_language = text("HTTP_ACCEPT_LANGUAGE");
  request.x_forwarded_for = text("HTTP_X_FORWARDED_FOR");
  request.x_forwarded_proto = text("HTTP_X_FORWARDED_PROTO");
  request.x_request_id = text("HTTP_X_REQUEST_ID");
  request.idempotency_key_header = text("HTTP_IDEMPOTENCY_KEY");
  request.remote_addr = text("REMOTE_ADDR");
  request.https = text("HTTPS") == "on" || text("REQUEST_SCHEME") == "https";
  return request;
}

void ReadBody(const std::string& content_length, size_t max_body_bytes, const BodyReader& read,
              http::Request& request) {
  std::optional<size_t> declared;
  if (!content_length.empty()) {
    declared = ParseLength(content_length);
    if (!declared) {
      request.body_state = http::BodyState::kBadLength;
      return;
    }
    request.content_length = *declared;
  }
  size_t limit = max_body_bytes + 1;
  if (declared) limit = std::min(limit, *declared);
  std::string body(limit, '\0');
  size_t got = 0;
  while (got < limit) {
    int n = read(body.data() + got, static_cast<int>(std::min<size_t>(limit - got, kChunk)));
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  body.resize(got);
  bool too_large = declared ? *declared > max_body_bytes : got > max_body_bytes;
  if (too_large) {
    request.body_state = http::BodyState::kTooLarge;
  } else if (declared && got < *declared) {
    request.body_state = http::BodyState::kIncomplete;
  } else {
    request.body_state = http::BodyState::kComplete;
    request.body = std::move(body);
  }
}

bool IsAuthorizerRole(const ParamLookup& param) {
  const char* role = param("FCGI_ROLE");
  return role != nullptr && std::string(role) == "AUTHORIZER";
}

void MakeAuthCheck(http::Request& request) {
  request.method = "GET";
  request.path = "/auth/check";
  request.query.clear();
  request.content_type.clear();
  request.content_length = 0;
  request.body.clear();
  request.body_state = http::BodyState::kComplete;
}

http::Response AuthorizerResponse(const http::Response& response) {
  http::Response verdict = http::EmptyResponse(200);
  std::string wall = "error";
  if (response.status >= 200 && response.status < 300) {
    wall = "pass";
    if (const std::string* user = response.FindHeader("X-Phoneverify-User")) {
      verdict.SetHeader("Variable-PHONEVERIFY_USER", *user);
    }
    if (const std::string* account = response.FindHeader("X-Phoneverify-Account")) {
      verdict.SetHeader("Variable-PHONEVERIFY_ACCOUNT", *account);
    }
  } else if (response.status == 401) {
    wall = "login";
  } else if (response.status == 403) {
    wall = "verify";
  }
  verdict.SetHeader("Variable-PHONEVERIFY_WALL", wall);
  if (const std::string* id = response.FindHeader("X-Request-Id")) {
    verdict.SetHeader("X-Request-Id", *id);
  }
  return verdict;
}

std::string PathOfUri(const std::string& uri) {
  std::string path = uri.substr(0, uri.find_first_of("?#"));
  if (!path.empty() && path.front() != '/') {
    // absolute-form request target: drop "scheme://authority"
    size_t scheme_end = path.find("://");
    if (scheme_end == std::string::npos) return path;
    size_t slash = path.find('/', scheme_end + 3);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  return path;
}

std::string ResponseHead(const http::Response& response) {
  std::string head = "Status: " + std::to_string(response.status) + " " +
                     http::ReasonPhrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !SafeHeaderText(name) || !SafeHeaderText(value)) continue;
    head += name + ": " + value + "\r\n";
  }
  bool bodiless = response.status == 204 || response.status == 304;
  if (!bodiless && !response.FindHeader("Content-Length")) {
    head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace phoneverify::fcgi
