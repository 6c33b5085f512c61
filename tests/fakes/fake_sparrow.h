// A fake SMS gateway for tests, benchmarks and `make run` demos: plain HTTP/1.1 on
// 127.0.0.1 (ephemeral port by default), one thread per connection, so a delayed reply
// holds only its own connection (300 and more connections each waiting 200 ms are served
// side by side); connections are kept alive between requests (closed after 5 s idle, on
// "Connection: close", or by a dropped reply). It speaks Sparrow's API and the generic
// JSON gateway of `sms_backend = http` (docs: CONTRACT.md section 6).
//
//   POST /v2/sms/    Sparrow: form-encoded token, from, to, text: recorded (kind "sparrow"),
//                    then answered per the current reply mode (see Reply). Missing
//                    token/to/text -> 403 1000; a token other than Options::expected_token
//                    (when set) -> 403 1002.
//   POST /http-sms/  the http backend: JSON {"id","to","text"} with the headers webhook-id,
//                    webhook-timestamp and webhook-signature: recorded (kind "http", headers
//                    as received; the signature is not checked here, tests check what was
//                    recorded), then answered per the same reply mode: 200 {"ok":true};
//                    kError403 -> 400 {"ok":false,"error":...}; a body that is not such a
//                    JSON object, or lacks id/to/text -> 400.
//   GET /v2/credit/  ?token=...: 200 {"credits_available": 1000, ...}; missing token ->
//                    403 1000; a token other than Options::expected_token -> 403 1002
//   GET /stats       200 {"requests","in_flight","in_flight_max","in_flight_us",
//                    "connections"}: see Stats
//   a known path with another method -> 405 (with Allow); anything else -> 404
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

struct FakeHttpRequest;  // a parsed request (internal: defined in fake_sparrow.cpp)

// One SMS request as received, on either route.
struct SparrowRequest {
  std::string kind;  // "sparrow" (POST /v2/sms/) or "http" (POST /http-sms/)
  std::string method;
  std::string path;
  std::string token;  // sparrow only
  std::string from;   // sparrow only
  std::string id;     // http only: the message id of the JSON body
  std::string to;
  std::string text;
  std::string body;   // raw body as received (form or JSON)
  // http only: the headers as received ("" when absent).
  std::string webhook_id;
  std::string webhook_timestamp;
  std::string webhook_signature;
  int64_t at_ms = 0;  // Unix time (ms) when the request had been read
  // The reply mode chosen for it: "ok", "error403", "http500", "delay", "drop" (a delayed
  // request is answered like "ok" unless the client gave up first; "error403" is a 400 on
  // the http route).
  std::string reply;
};

class FakeSparrow {
 public:
  enum class Mode {
    kOk,        // 200 {"count":1,"response_code":200,"response":"1 mesages has been queued..."}
    kError403,  // 403 {"response_code":code,"response":"<Sparrow's text for code>"};
                // on /http-sms/ 400 {"ok":false,"error":"rejected (code)"}
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
    std::string host = "127.0.0.1";  // numeric IPv4: 10.77.0.1 for make cluster's hosts
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
  std::string Url() const;        // http://<host>:<port>/v2/sms/
  std::string CreditUrl() const;  // http://<host>:<port>/v2/credit/
  std::string HttpUrl() const;    // http://<host>:<port>/http-sms/ (sms_http_url)
  std::string StatsUrl() const;   // http://<host>:<port>/stats

  // Load figures since the server started (Clear() does not reset them). An SMS request is
  // in flight from the moment it has been read until its reply was written or its
  // connection dropped; both SMS routes count.
  struct Stats {
    uint64_t requests = 0;     // SMS requests answered (any status; a dropped one is not)
    int in_flight = 0;         // SMS requests in flight now
    int in_flight_max = 0;     // the most in flight at once
    uint64_t in_flight_us = 0; // sum of the time each finished SMS request was in flight:
                               // its change over a window / the window = mean in flight
    int connections = 0;       // connections open now
  };
  Stats GetStats() const;

  // SMS requests received (POST /v2/sms/ and POST /http-sms/), oldest first.
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
  struct Route;  // method + path -> handler (the table is kRoutes in the .cpp)
  static const Route kRoutes[];

  bool Listen(int port);
  void AcceptLoop();
  void ReapFinished();
  void Serve(int fd);
  bool ServeOne(int fd);
  // Route handlers; false when the connection is to be closed.
  bool ServeSparrow(int fd, const FakeHttpRequest& http);
  bool ServeHttpSms(int fd, const FakeHttpRequest& http);
  bool ServeCredit(int fd, const FakeHttpRequest& http);
  bool ServeStats(int fd, const FakeHttpRequest& http);
  bool ServeSms(int fd, SparrowRequest request);
  bool Answer(int fd, const SparrowRequest& request, Reply reply) const;
  Reply NextReply();
  void Record(const SparrowRequest& request);
  void ConnectionOpened(int delta);
  void SmsBegan();
  void SmsEnded(std::chrono::steady_clock::time_point began, bool answered);
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
  Stats stats_;
};

}  // namespace phoneverify::fakes
