// libFuzzer target: the FastCGI parameter handling (fcgi::RequestFromParams, ReadBody,
// PathOfUri, ResponseHead) and the client address (http::ClientIp) with web-server
// parameters, body and headers all taken from the input. Invariants: no crash; a body is
// kept only when complete and within the limit; a response head carries no header a
// value could have smuggled in with CR/LF.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "fcgi/cgi_params.h"
#include "http/client_ip.h"
#include "http/request.h"
#include "http/response.h"

using namespace phoneverify;

namespace {

const char* const kNames[] = {"REQUEST_METHOD", "REQUEST_URI",    "SCRIPT_NAME",
                              "PATH_INFO",      "QUERY_STRING",   "CONTENT_TYPE",
                              "CONTENT_LENGTH", "HTTP_AUTHORIZATION", "HTTP_COOKIE",
                              "HTTP_X_FORWARDED_FOR", "HTTP_X_REQUEST_ID",
                              "HTTP_IDEMPOTENCY_KEY", "REMOTE_ADDR", "HTTPS", "REQUEST_SCHEME"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::map<std::string, std::string> params;
  for (const char* name : kNames) {
    if (in.ConsumeBool()) params[name] = in.ConsumeRandomLengthString(256);
  }
  const http::Request from_params = fcgi::RequestFromParams([&](const char* name) -> const char* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : it->second.c_str();
  });
  http::Request request = from_params;
  const size_t max_body = in.ConsumeIntegralInRange<size_t>(0, 64);
  const std::string body = in.ConsumeRandomLengthString(128);
  size_t offset = 0;
  const size_t chunk = in.ConsumeIntegralInRange<size_t>(1, 16);
  fcgi::ReadBody(params.count("CONTENT_LENGTH") ? params["CONTENT_LENGTH"] : "", max_body,
                 [&](char* buf, int len) {
                   const size_t n = std::min({body.size() - offset, static_cast<size_t>(len), chunk});
                   std::copy_n(body.data() + offset, n, buf);
                   offset += n;
                   return static_cast<int>(n);
                 },
                 request);
  if (request.body_state == http::BodyState::kComplete && request.body.size() > max_body) {
    std::abort();
  }
  if (request.body_state != http::BodyState::kComplete && !request.body.empty()) std::abort();

  auto proxies = http::TrustedProxies::Parse({"127.0.0.1", "10.0.0.0/8", "::1"});
  if (proxies.ok()) {
    (void)http::ClientIp(request.remote_addr, request.x_forwarded_for, proxies.value());
  }
  (void)http::NormalizeIp(request.x_forwarded_for);

  http::Response response;
  response.status = in.ConsumeIntegralInRange<int>(100, 599);
  response.SetHeader("X-Request-Id", in.ConsumeRandomLengthString(64));
  response.AddHeader(in.ConsumeRandomLengthString(16), in.ConsumeRandomLengthString(64));
  response.body = in.ConsumeRemainingBytesAsString();
  const std::string head = fcgi::ResponseHead(response);
  // Exactly one blank line, at the end: no value may start a header or the body early.
  if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) std::abort();
  if (head.find("\r\n\r\n") != head.size() - 4) std::abort();
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) std::abort();
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) std::abort();
  }
  return 0;
}
