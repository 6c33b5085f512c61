// A small libcurl HTTP client for integration tests (tests may use curl directly; the
// product's own curl use stays in src/sms).
#pragma once

#include <json/value.h>

#include <map>
#include <string>
#include <vector>

namespace phoneverify::itest {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json::Value json;  // null when the body is not JSON
  bool is_json = false;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  // The contract's error shape: status equals the HTTP status, code and details present.
  bool HasErrorShape() const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
};

class HttpClient {
 public:
  explicit HttpClient(int port) : base_("http://127.0.0.1:" + std::to_string(port)) {}
  HttpResponse Send(const HttpRequest& request) const;

  HttpResponse Get(const std::string& path, const std::string& token = "") const;
  HttpResponse PostJson(const std::string& path, const Json::Value& body,
                        const std::string& token = "") const;
  HttpResponse PostRaw(const std::string& path, const std::string& body,
                       const std::string& content_type, const std::string& token = "") const;
  HttpResponse Delete(const std::string& path, const std::string& token = "") const;

 private:
  std::string base_;
};

// Writes raw bytes to 127.0.0.1:port and returns everything read until close (for
// requests curl would refuse to send).
std::string RawExchange(int port, const std::string& bytes, int timeout_ms = 5000);

std::string ToJson(const Json::Value& value);

}  // namespace phoneverify::itest
