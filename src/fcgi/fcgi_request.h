// One FastCGI request slot over libfcgi's FCGX_Request. With worker.cpp, the only
// <fcgiapp.h> user. Parameters are copied into an http::Request at once (libfcgi frees
// its strings on the next accept or finish); the body is read up to max_body_bytes + 1
// bytes and the rest drained, so the web server can finish sending it.
#pragma once

#include <fcgiapp.h>

#include <cstddef>

#include "http/request.h"
#include "http/response.h"

namespace phoneverify::fcgi {

class FcgiRequest {
 public:
  // `listen_fd`: a listening socket, normally non-blocking (see server.h).
  explicit FcgiRequest(int listen_fd);
  ~FcgiRequest();
  FcgiRequest(const FcgiRequest&) = delete;
  FcgiRequest& operator=(const FcgiRequest&) = delete;
  FcgiRequest(FcgiRequest&&) = delete;
  FcgiRequest& operator=(FcgiRequest&&) = delete;

  // FCGX_Accept_r: 0 when a request is ready, else a negative errno (-EAGAIN when no
  // connection was waiting on a non-blocking socket).
  int Accept();
  // A connection kept open by the web server for its next request, or -1.
  int connection_fd() const { return request_.ipcFd; }

  // The request's parameters and body (see cgi_params.h for the body rule). A request in
  // the FastCGI Authorizer role has no body and is read as GET /auth/check.
  http::Request Read(size_t max_body_bytes);
  // Writes status, headers and body (for an Authorizer request, the verdict made of the
  // response by AuthorizerResponse); false when the web server has gone away.
  bool Write(const http::Response& response);
  // Ends the request so the response is flushed now (FCGX_Finish_r).
  void Finish();

 private:
  void Drain();

  FCGX_Request request_;
  bool active_ = false;
  bool authorizer_ = false;  // the request being served is in the Authorizer role
};

}  // namespace phoneverify::fcgi
