// A fake webhook endpoint for integration tests: plain HTTP/1.1 on 127.0.0.1 (an
// ephemeral port), one thread per connection, every reply closing its connection. Each
// path answers a scripted status: 200 unless SetStatus/FailNext say otherwise; status 0
// means hang: read the request and never answer (until the client gives up or the
// receiver stops). Records every POST as received, hung ones included.
// All public methods are thread-safe; the destructor stops the server and joins every
// thread (hanging connections are woken at once).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace phoneverify::fakes {

struct WebhookRequest {
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int64_t at_ms = 0;  // Unix ms when the request had been read
  int status = 0;     // the status answered (0: hung)

  std::string Header(const std::string& lower_name) const {
    const auto found = headers.find(lower_name);
    return found == headers.end() ? "" : found->second;
  }
};

class FakeWebhookReceiver {
 public:
  FakeWebhookReceiver();
  ~FakeWebhookReceiver();
  FakeWebhookReceiver(const FakeWebhookReceiver&) = delete;
  FakeWebhookReceiver& operator=(const FakeWebhookReceiver&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  // http://127.0.0.1:<port><path>
  std::string Url(const std::string& path) const;

  // Every request to `path` from now on gets `status` (0: hang).
  void SetStatus(const std::string& path, int status);
  // The next `n` requests to `path` get `status`, later ones SetStatus's again.
  void FailNext(const std::string& path, int n, int status);

  std::vector<WebhookRequest> Requests(const std::string& path) const;
  // True once at least `n` requests to `path` arrived within `timeout`.
  bool WaitForRequests(const std::string& path, size_t n, std::chrono::milliseconds timeout) const;

 private:
  struct Script {
    int status = 200;
    int next_status = 0;
    int next_left = 0;
  };
  void AcceptLoop();
  void Serve(int fd);
  int StatusFor(const std::string& path);
  void Record(WebhookRequest request);
  void HangUntilClosed(int fd) const;

  int listen_fd_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // the acceptor's only

  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::map<std::string, Script> scripts_;
  std::vector<WebhookRequest> requests_;
};

}  // namespace phoneverify::fakes
