#include "cluster/load.h"

#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <stdexcept>

#include "cluster/cluster.h"

namespace phoneverify::ctest {
namespace {

std::string Last10(const std::string& phone) {
  return phone.size() > 10 ? phone.substr(phone.size() - 10) : phone;
}

// The first run of 4 or more ASCII digits of an SMS text: the code.
std::string CodeIn(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j - i >= 4) return text.substr(i, j - i);
    i = j == i ? i + 1 : j;
  }
  return "";
}

std::map<std::string, size_t> SmsCountByPhone() {
  std::map<std::string, size_t> counts;
  for (const auto& request : Cluster::Get().sparrow().Requests()) ++counts[Last10(request.to)];
  return counts;
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

itest::HttpResponse HostClient::Get(const std::string& path) const {
  itest::HttpRequest request;
  request.path = path;
  if (!host_.empty()) request.headers.push_back("X-Phoneverify-Host: " + host_);
  try {
    return Cluster::Get().client().Send(request);
  } catch (const std::exception&) {
    return {};
  }
}

itest::HttpResponse HostClient::Post(const std::string& path,
                                     const std::map<std::string, std::string>& fields,
                                     const Account& account,
                                     const std::string& idempotency_key) const {
  Json::Value body(Json::objectValue);
  for (const auto& [name, value] : fields) body[name] = value;
  itest::HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = itest::ToJson(body);
  request.headers = {"Content-Type: application/json"};
  if (!account.token.empty()) request.headers.push_back("Authorization: Token " + account.token);
  if (!idempotency_key.empty()) request.headers.push_back("Idempotency-Key: " + idempotency_key);
  if (!host_.empty()) request.headers.push_back("X-Phoneverify-Host: " + host_);
  try {
    return Cluster::Get().client().Send(request);
  } catch (const std::exception&) {
    return {};
  }
}

HostClient Through(const std::string& host) { return HostClient(host); }

std::string HostAddress(const std::string& host) {
  if (host == "app1") return "10.77.0.21";
  if (host == "app2") return "10.77.0.22";
  throw std::invalid_argument("no application host " + host);
}

Account NewAccount() {
  static std::atomic<int> next{0};
  Account account{"cuser" + std::to_string(++next), ""};
  const std::map<std::string, std::string> fields{{"username", account.username},
                                                  {"password", "ctest-password-" + account.username}};
  BOOST_REQUIRE_EQUAL(Through("").Post("/api/v1/accounts", fields, {}).status, 201);
  itest::HttpResponse token = Through("").Post("/api/v1/auth/token", fields, {});
  BOOST_REQUIRE_EQUAL(token.status, 200);
  account.token = token.json["token"].asString();
  return account;
}

std::string NextPhone() {
  static std::atomic<int> next{0};  // the cluster's database is fresh every run
  return "984" + std::to_string(2000000 + ++next);
}

std::string WaitForCode(const std::string& phone) {
  const int64_t until = NowMs() + 20'000;
  while (NowMs() < until) {
    std::string code;
    for (const auto& request : Cluster::Get().sparrow().Requests()) {
      if (Last10(request.to) == phone) code = CodeIn(request.text);
    }
    if (!code.empty()) return code;
    SleepMs(50);
  }
  return "";
}

std::string WrongCode(const std::string& code) {
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  return wrong;
}

std::vector<long> InParallel(int n, const std::function<long(int)>& call) {
  std::vector<long> results(static_cast<size_t>(n));
  std::mutex mu;
  std::condition_variable go;
  bool released = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(mu);
        go.wait(lock, [&] { return released; });
      }
      results[static_cast<size_t>(i)] = call(i);
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  go.notify_all();
  for (auto& thread : threads) thread.join();
  return results;
}

// ---- SendLoad ------------------------------------------------------------------------

SendLoad::SendLoad(int clients) : clients_(clients) {}

SendLoad::~SendLoad() { Stop(); }

void SendLoad::Start() {
  std::vector<Account> accounts;
  for (int i = 0; i < clients_; ++i) accounts.push_back(NewAccount());
  started_ms_ = NowMs();
  for (const Account& account : accounts) {
    threads_.emplace_back([this, account] { Client(account); });
  }
}

void SendLoad::Stop() {
  stop_ = true;
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  if (stopped_ms_ == 0) stopped_ms_ = NowMs();
}

void SendLoad::Client(const Account& account) {
  while (!stop_) {
    const std::string phone = NextPhone();
    if (SendOnce(account, phone)) {
      std::lock_guard<std::mutex> lock(mu_);
      accepted_.push_back(phone);
      accepted_at_.push_back(NowMs());
    }
  }
}

bool SendLoad::SendOnce(const Account& account, const std::string& phone) {
  const std::string key = "load-" + phone;
  const int64_t give_up = NowMs() + 60'000;
  while (NowMs() < give_up) {
    const long status =
        Through("").Post("/api/v1/phone/send-otp", {{"phone", phone}}, account, key).status;
    if (status == 202) return true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++failed_;
    }
    // 5xx or no answer: the outcome is unknown; the same key makes the retry safe. Any
    // other answer is definite.
    if (status != 0 && status < 500) return false;
    SleepMs(200);
  }
  return false;
}

int64_t SendLoad::FirstAcceptedAfter(int64_t since_ms, int64_t timeout_ms) const {
  const int64_t until = since_ms + timeout_ms;
  while (NowMs() < until) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t at : accepted_at_) {
        if (at > since_ms) return at;
      }
    }
    SleepMs(20);
  }
  return until;
}

int64_t SendLoad::LongestStallBetween(int64_t from_ms, int64_t to_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> times = accepted_at_;
  std::sort(times.begin(), times.end());
  int64_t longest = 0;
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] >= from_ms && times[i - 1] <= to_ms) {
      longest = std::max(longest, times[i] - std::max(times[i - 1], from_ms));
    }
  }
  return longest;
}

int64_t CrashHost(const std::string& host) {
  const std::string command = "ip netns pids pv-" + host;
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::vector<pid_t> pids;
  long pid = 0;
  while (std::fscanf(pipe, "%ld", &pid) == 1) pids.push_back(static_cast<pid_t>(pid));
  ::pclose(pipe);
  BOOST_REQUIRE(!pids.empty());
  for (pid_t each : pids) ::kill(each, SIGKILL);
  return NowMs();
}

LoadFigures SendLoad::Figures() const {
  std::lock_guard<std::mutex> lock(mu_);
  LoadFigures figures;
  figures.accepted_phones = accepted_;
  figures.failed_attempts = failed_;
  std::vector<int64_t> times = accepted_at_;
  times.push_back(started_ms_);
  times.push_back(stopped_ms_ != 0 ? stopped_ms_ : NowMs());
  std::sort(times.begin(), times.end());
  for (size_t i = 1; i < times.size(); ++i) {
    figures.longest_stall_ms = std::max(figures.longest_stall_ms, times[i] - times[i - 1]);
  }
  return figures;
}

DeliveryFigures WaitForDelivery(const std::vector<std::string>& accepted, int64_t timeout_ms,
                                const std::vector<Window>& lost_host_windows) {
  const int64_t until = NowMs() + timeout_ms;
  size_t missing = accepted.size();
  while (NowMs() < until) {
    const std::map<std::string, size_t> counts = SmsCountByPhone();
    missing = 0;
    for (const std::string& phone : accepted) missing += counts.count(phone) == 0 ? 1 : 0;
    if (missing == 0) break;
    SleepMs(250);
  }
  SleepMs(2000);  // a late second copy would arrive now
  DeliveryFigures figures;
  const std::map<std::string, size_t> counts = SmsCountByPhone();
  for (const std::string& phone : accepted) figures.lost += counts.count(phone) == 0 ? 1 : 0;
  std::map<std::string, std::vector<int64_t>> times;
  for (const auto& request : Cluster::Get().sparrow().Requests()) {
    times[Last10(request.to)].push_back(request.at_ms);
  }
  for (const auto& [phone, count] : counts) {
    if (count < 2) continue;
    ++figures.duplicated;
    std::vector<int64_t>& copies = times[phone];
    std::sort(copies.begin(), copies.end());
    for (const Window& window : lost_host_windows) {
      if (copies.front() >= window.from_ms && copies.front() <= window.to_ms) {
        ++figures.duplicated_by_lost_host;
        break;
      }
    }
    figures.duplicate_times.push_back(copies);
  }
  return figures;
}

}  // namespace phoneverify::ctest
