// Transport over libcurl's multi interface: every call in flight at once, driven from the
// one thread that calls Start and Wait. It uses libcurl's event API
// (curl_multi_socket_action): libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION)
// and when its next timeout is due (CURLMOPT_TIMERFUNCTION), and an epoll set watches
// them, so a wake-up costs in proportion to the sockets that are ready, not to the
// hundreds of connections open (curl_multi_poll scans them all on every call).
// Connections stay in the multi handle's cache and are reused by later calls to the same
// host (HTTP/1.1 keep-alive, or one HTTP/2 connection for all when the gateway speaks it
// over TLS); finished easy handles are kept for reuse. Each call gets the gateway options
// of ConfigureGatewayCall (TLS verified, no proxy from the environment, no redirects,
// timeouts); the call's timeout is kept here, judged only after reading what arrived (see
// Wait). Wake writes to an eventfd in the epoll set.
// Requires a live sms::CurlGlobal. Not thread-safe, except Wake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sms/curl_easy.h"
#include "sms/transport.h"
#include "util/unique_fd.h"

namespace phoneverify::sms {

class CurlMultiTransport final : public Transport {
 public:
  CurlMultiTransport();
  ~CurlMultiTransport() override;
  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  // False when the multi handle, the epoll set or the eventfd could not be created; every
  // call then fails.
  bool ok() const { return static_cast<bool>(multi_) && epoll_.valid() && wake_.valid(); }

  void Start(uint64_t tag, HttpCall call) override;
  std::vector<Finished> Wait(int max_ms) override;
  size_t in_flight() const override { return calls_.size(); }
  void Wake() override;

 private:
  struct Call;
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* self, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* self);
  void Act(curl_socket_t socket, int events);
  bool PollSockets(int wait_ms);
  void ExpireOverdue(int64_t now, std::vector<Finished>& finished, bool unsent_only);
  void Collect(std::vector<Finished>& finished);
  void Finish(CURL* easy, int curl_code, std::vector<Finished>& finished);
  CurlEasy TakeHandle();

  CurlMulti multi_;
  util::UniqueFd epoll_;
  util::UniqueFd wake_;               // eventfd
  int64_t timer_due_ms_ = -1;         // libcurl's next timeout (steady ms), -1: none
  std::unordered_map<CURL*, std::unique_ptr<Call>> calls_;
  std::vector<CurlEasy> idle_;                 // finished handles, reset, for reuse
  std::vector<Finished> failed_to_start_;      // reported at the next Wait
};

}  // namespace phoneverify::sms
