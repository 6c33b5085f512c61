#include "fcgi/fcgi_request.h"

#include <algorithm>
#include <string>

#include "fcgi/cgi_params.h"

namespace phoneverify::fcgi {
namespace {

// Past this much unread body we stop draining and let the connection close.
constexpr size_t kDrainLimit = 8u << 20;
constexpr int kChunk = 16384;

}  // namespace

FcgiRequest::FcgiRequest(int listen_fd) {
  FCGX_InitRequest(&request_, listen_fd, 0);  // always returns 0
}

FcgiRequest::~FcgiRequest() {
  if (active_) FCGX_Finish_r(&request_);
  // FCGX_Free closes the connection only when asked; never hand it fd -1.
  FCGX_Free(&request_, request_.ipcFd >= 0 ? 1 : 0);
}

int FcgiRequest::Accept() {
  active_ = false;
  int rc = FCGX_Accept_r(&request_);
  if (rc == 0) active_ = true;
  return rc;
}

void FcgiRequest::Finish() {
  if (!active_) return;
  FCGX_Finish_r(&request_);
  active_ = false;
}

http::Request FcgiRequest::Read(size_t max_body_bytes) {
  FCGX_ParamArray envp = request_.envp;
  const ParamLookup param = [envp](const char* name) { return FCGX_GetParam(name, envp); };
  http::Request request = RequestFromParams(param);
  authorizer_ = IsAuthorizerRole(param);
  if (authorizer_) {
    // The web server sends an Authorizer no FCGI_STDIN at all: reading would block.
    MakeAuthCheck(request);
    return request;
  }
  const char* length = FCGX_GetParam("CONTENT_LENGTH", envp);
  ReadBody(
      length ? length : "", max_body_bytes,
      [this](char* buf, int len) { return FCGX_GetStr(buf, len, request_.in); }, request);
  Drain();
  return request;
}

void FcgiRequest::Drain() {
  char scratch[kChunk];
  size_t drained = 0;
  while (drained < kDrainLimit) {
    int n = FCGX_GetStr(scratch, sizeof scratch, request_.in);
    if (n <= 0) return;
    drained += static_cast<size_t>(n);
  }
}

bool FcgiRequest::Write(const http::Response& app_response) {
  const http::Response verdict = authorizer_ ? AuthorizerResponse(app_response) : http::Response();
  const http::Response& response = authorizer_ ? verdict : app_response;
  std::string head = ResponseHead(response);
  if (FCGX_PutStr(head.data(), static_cast<int>(head.size()), request_.out) < 0) return false;
  size_t sent = 0;
  while (sent < response.body.size()) {
    int n = static_cast<int>(std::min<size_t>(response.body.size() - sent, 1 << 20));
    if (FCGX_PutStr(response.body.data() + sent, n, request_.out) < 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;  // Finish() flushes
}

}  // namespace phoneverify::fcgi
