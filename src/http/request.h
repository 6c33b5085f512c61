// The HTTP request as the application sees it: a plain value filled by the FastCGI layer
// (src/fcgi), so everything above it is testable without a web server.
#pragma once

#include <cstddef>
#include <string>

namespace phoneverify::http {

// How the body arrived. The FastCGI layer reads at most max_body_bytes + 1 bytes and
// records the outcome here; App answers 413 / 400 before any handler runs.
enum class BodyState {
  kComplete,    // `body` holds the whole body
  kTooLarge,    // over max_body_bytes (body truncated or empty)
  kIncomplete,  // fewer bytes than CONTENT_LENGTH announced
  kBadLength,   // CONTENT_LENGTH was not a number
};

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // URL path without the query string, not %-decoded
  std::string query;   // raw query string, "" when none
  std::string content_type;
  size_t content_length = 0;  // as declared
  std::string authorization;
  std::string cookie;
  std::string accept_language;
  std::string x_forwarded_for;
  std::string x_forwarded_proto;  // believed only from a trusted proxy (App)
  std::string x_request_id;  // as sent; App adopts it only when it looks sane
  std::string idempotency_key_header;  // Idempotency-Key as sent
  std::string remote_addr;
  bool https = false;  // the web server's own TLS; App adds a trusted proxy's
  std::string body;
  BodyState body_state = BodyState::kComplete;

  // Filled by App before routing.
  std::string request_id;  // 16 hex chars, or the client's sane X-Request-Id
  std::string client_ip;   // see client_ip.h; for logs
  std::string client_key;  // LimitKey(client_ip): the client as per-IP limits count it
  // The client's Idempotency-Key when it is 1 to 255 printable ASCII characters, else
  // "" (a malformed key is refused by the routes that use it, see
  // idempotency_key_malformed). The storage guards its own re-runs with keys it makes up.
  std::string idempotency_key;
  bool idempotency_key_malformed = false;  // a header was sent, and it is not such a key
};

}  // namespace phoneverify::http
