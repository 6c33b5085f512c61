// Clients of the cluster tests: requests through nginx to a chosen application host, new
// accounts, codes read at the fake gateway, and a steady send load that keeps figures.
#pragma once

#include <json/value.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/http_client.h"

namespace phoneverify::ctest {

int64_t NowMs();

struct Account {
  std::string username;
  std::string token;
};

// Requests through nginx, to one application host ("app1", "app2") or to whichever nginx
// picks (""). Transport failures come back as status 0.
class HostClient {
 public:
  explicit HostClient(std::string host) : host_(std::move(host)) {}
  itest::HttpResponse Get(const std::string& path) const;
  itest::HttpResponse Post(const std::string& path,
                           const std::map<std::string, std::string>& fields,
                           const Account& account, const std::string& idempotency_key = "") const;

 private:
  std::string host_;
};

HostClient Through(const std::string& host);
std::string HostAddress(const std::string& host);  // "app1" -> "10.77.0.21"

Account NewAccount();
std::string NextPhone();  // never used before in this run
// The code in the latest SMS the fake gateway received for `phone`; "" after 20 s.
std::string WaitForCode(const std::string& phone);
std::string WrongCode(const std::string& code);

// Runs `call(i)` for i in [0, n) on n threads released at once; the results in order.
std::vector<long> InParallel(int n, const std::function<long(int)>& call);

struct LoadFigures {
  std::vector<std::string> accepted_phones;  // a 202 came back for each
  size_t failed_attempts = 0;                // answers other than 202 (then retried)
  int64_t longest_stall_ms = 0;              // longest time without an accepted send
};

// `clients` threads, each with its own account, sending codes to fresh phones through
// nginx as fast as answers come. A send that fails (5xx, no answer) is retried with the
// same Idempotency-Key until it gets a definite answer, as a careful client does.
class SendLoad {
 public:
  explicit SendLoad(int clients);
  ~SendLoad();
  void Start();
  void Stop();
  // When the first send after `since_ms` was accepted (ms since the epoch); since_ms +
  // timeout_ms if none was.
  int64_t FirstAcceptedAfter(int64_t since_ms, int64_t timeout_ms) const;
  // The longest time without an accepted send that began in [from_ms, to_ms].
  int64_t LongestStallBetween(int64_t from_ms, int64_t to_ms) const;
  LoadFigures Figures() const;

 private:
  void Client(const Account& account);
  // One send, retried with its key until the answer is definite; true when accepted.
  bool SendOnce(const Account& account, const std::string& phone);

  int clients_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<std::string> accepted_;
  std::vector<int64_t> accepted_at_;
  size_t failed_ = 0;
  int64_t started_ms_ = 0;
  int64_t stopped_ms_ = 0;
};

struct DeliveryFigures {
  size_t lost = 0;        // accepted, never reached the gateway
  size_t duplicated = 0;  // phones that got more than one SMS
  // Of those, the ones whose first copy reached the gateway within one of the windows
  // given: sent by a host that then crashed or was cut off before it wrote that down.
  size_t duplicated_by_lost_host = 0;
  // For each duplicate: when (ms since the epoch) each of its copies was received.
  std::vector<std::vector<int64_t>> duplicate_times;
};

// Waits until every phone in `accepted` got its SMS (or `timeout_ms` passed), then a
// little longer so late duplicates show, and counts.
struct Window {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};
DeliveryFigures WaitForDelivery(const std::vector<std::string>& accepted, int64_t timeout_ms,
                                const std::vector<Window>& lost_host_windows);

// kill -9 of every process in the namespace <cluster>-<host>, from this process (so the
// instant is known to the millisecond); returns when they were killed (ms since the epoch).
int64_t CrashHost(const std::string& host);

}  // namespace phoneverify::ctest
