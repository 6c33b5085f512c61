// A fake Sparrow SMS server for tests, benchmarks and `make run` demos: plain HTTP/1.1 on
// 127.0.0.1 (ephemeral port by default), one thread per connection; connections are kept
// alive between requests (closed after 5 s idle, on "Connection: close", or by a dropped
// reply).
//
//   POST /v2/sms/    form-encoded token, from, to, text: recorded, then answered per the
//                    current reply mode (see Reply). Missing token/to/text -> 403 1000;
//                    a token other than Options::expected_token (when set) -> 403 1002.
//   GET /v2/credit/  ?token=...: 200 {"credits_available": 1000, ...}; missing token ->
//                    403 1000; a token other than Options::expected_token -> 403 1002
//   anything else    404
//
// All public methods are thread-safe. The destructor stops the server and joins every
// thread (a connection sleeping in a delay is woken at once).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace phoneverify::fakes {

struct SparrowRequest {
  std::string method;
  std::string path;
  std::string token;
  std::string from;
  std::string to;
  std::string text;
  std::string body;   // raw form body as received
  int64_t at_ms = 0;  // Unix time (ms) when the request had been read
  // The reply mode chosen for it: "ok", "error403", "http500", "delay", "drop" (a delayed
  // request is answered like "ok" unless the client gave up first).
  std::string reply;
};

class FakeSparrow {
 public:
  enum class Mode {
    kOk,        // 200 {"count":1,"response_code":200,"response":"1 mesages has been queued..."}
    kError403,  // 403 {"response_code":code,"response":"<Sparrow's text for code>"}
    kHttp500,   // 500, plain text body
    kDelay,     // wait delay_ms, then as kOk
    kDropConnection,  // read the request, close without answering
  };
  struct Reply {
    Mode mode = Mode::kOk;
    int code = 0;      // kError403
    int delay_ms = 0;  // kDelay
  };
  static Reply Ok() { return {Mode::kOk, 0, 0}; }
  static Reply Error403(int code) { return {Mode::kError403, code, 0}; }
  static Reply Http500() { return {Mode::kHttp500, 0, 0}; }
  static Reply Delay(int ms) { return {Mode::kDelay, 0, ms}; }
  static Reply Drop() { return {Mode::kDropConnection, 0, 0}; }

  struct Options {
    int port = 0;                // 0 = ephemeral
    bool keep_requests = true;   // false: Requests() stays empty (long benchmark runs)
    std::string expected_token;  // "" = accept any non-empty token
    // Called (on the connection's thread) for every SMS request, before answering.
    std::function<void(const SparrowRequest&)> on_request;
  };

  FakeSparrow();
  explicit FakeSparrow(Options options);
  ~FakeSparrow();
  FakeSparrow(const FakeSparrow&) = delete;
  FakeSparrow& operator=(const FakeSparrow&) = delete;

  // False when the socket could not be set up (error() says why).
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  int Port() const { return port_; }
  std::string Url() const;        // http://127.0.0.1:<port>/v2/sms/
  std::string CreditUrl() const;  // http://127.0.0.1:<port>/v2/credit/

  // SMS requests received (POST /v2/sms/), oldest first.
  std::vector<SparrowRequest> Requests() const;
  size_t RequestCount() const;
  // True once at least `n` SMS requests were received within `timeout`.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;

  // The reply for every request from now on (clears any FailNext script).
  void SetMode(Reply reply);
  // The next `n` requests get `reply`, later ones the current mode again.
  void FailNext(int n, Reply reply);
  // Forgets recorded requests (the mode stays).
  void Clear();

 private:
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  bool Listen(int port);
  void AcceptLoop();
  void ReapFinished();
  void Serve(int fd);
  bool ServeOne(int fd);
  bool ServeSms(int fd, SparrowRequest request);
  Reply NextReply();
  void Record(const SparrowRequest& request);
  bool SleepMs(int ms) const;  // false when woken by Stop

  Options options_;
  std::string error_;
  int listen_fd_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::list<Connection> connections_;  // touched by the acceptor thread only

  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::vector<SparrowRequest> requests_;
  size_t request_count_ = 0;
  Reply mode_;
  Reply scripted_;
  int scripted_left_ = 0;
};

}  // namespace phoneverify::fakes
