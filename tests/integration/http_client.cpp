#include "http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace phoneverify::itest {
namespace {

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

void ParseJson(HttpResponse& r) {
  Json::CharReaderBuilder builder;
  std::string errors;
  std::istringstream in(r.body);
  r.is_json = !r.body.empty() && Json::parseFromStream(builder, in, &r.json, &errors);
}

}  // namespace

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
  HttpResponse response;
  const std::string url = base_ + request.path;
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("curl: ") + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  ParseJson(response);
  return response;
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
