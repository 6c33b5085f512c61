#include "http_client.h"

#include "curl_exchange.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace phoneverify::itest {

bool HttpResponse::HasErrorShape() const {
  return is_json && json.isObject() && json["status"].isInt() &&
         json["status"].asInt() == status && json["code"].isString() &&
         !json["code"].asString().empty() && json["details"].isString() &&
         Header("content-type").rfind("application/json", 0) == 0;
}

HttpResponse HttpClient::Send(const HttpRequest& request) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           curl_easy_cleanup);
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
  const bool has_body = !request.body.empty() || request.method == "POST";
  return PerformExchange(curl.get(), base_ + request.path, request.headers,
                         has_body ? &request.body : nullptr);
}

HttpResponse HttpClient::Get(const std::string& path, const std::string& token) const {
  HttpRequest r{"GET", path, "", {}};
  if (!token.empty()) r.headers.push_back("Authorization: Token " + token);
  return Send(r);
}

HttpResponse HttpClient::PostJson(const std::string& path, const Json::Value& body,
                                  const std::string& token) const {
  return PostRaw(path, ToJson(body), "application/json", token);
}

HttpResponse HttpClient::PostRaw(const std::string& path, const std::string& body,
                                 const std::string& content_type,
                                 const std::string& token) const {
  HttpRequest r{"POST", path, body, {}};
  // An empty type sends no Content-Type at all (curl would otherwise add a form type).
  r.headers.push_back(content_type.empty() ? "Content-Type:" : "Content-Type: " + content_type);
  if (!token.empty()) r.headers.push_back("Authorization: Token " + token);
  return Send(r);
}

HttpResponse HttpClient::Delete(const std::string& path, const std::string& token) const {
  HttpRequest r{"DELETE", path, "", {}};
  if (!token.empty()) r.headers.push_back("Authorization: Token " + token);
  return Send(r);
}

std::string RawExchange(int port, const std::string& bytes, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect");
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  while (::poll(&p, 1, timeout_ms) > 0) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string ToJson(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  return Json::writeString(builder, value);
}

}  // namespace phoneverify::itest
