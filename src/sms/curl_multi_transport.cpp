#include "sms/curl_multi_transport.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <utility>

#include "sms/sparrow_http.h"

namespace phoneverify::sms {
namespace {

constexpr size_t kMaxIdleHandles = 512;
// libcurl's own timeout is only a backstop, this much past the call's: the call's is kept
// here (see Wait), where an answer that arrived in time is read before it is judged.
constexpr long kCurlTimeoutSlackSeconds = 60;
constexpr int kMaxEvents = 128;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t EpollEvents(int what) {
  return ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
}

int CurlEvents(uint32_t events) {
  return ((events & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
         ((events & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
         ((events & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR : 0);
}

}  // namespace

struct CurlMultiTransport::Call {
  uint64_t tag = 0;
  CurlEasy easy;
  CurlHeaders headers;
  std::string body;   // holds the code: wiped when the call ends
  std::string reply;  // written by libcurl
  int64_t deadline_ms = 0;  // steady ms: past it, unanswered, the call times out
};

CurlMultiTransport::CurlMultiTransport()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!ok()) return;
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = wake_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &wake) != 0) wake_.reset();
  CURLM* m = multi_.get();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &CurlMultiTransport::OnSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &CurlMultiTransport::OnTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  // Calls share an HTTP/2 connection once one is up. No CURLOPT_PIPEWAIT: against an
  // HTTP/1.1 gateway it would hold a burst back for the first answer.
  curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

CurlMultiTransport::~CurlMultiTransport() {
  for (auto& [easy, call] : calls_) {
    curl_multi_remove_handle(multi_.get(), easy);
    std::fill(call->body.begin(), call->body.end(), '\0');
  }
  if (multi_) {
    // The cache's connections close with the multi handle, after our members are gone.
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, nullptr);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, nullptr);
  }
}

// libcurl: watch `socket` for `what` (CURL_POLL_IN/OUT/INOUT), or no more (REMOVE).
// `socket_data` is non-null once the socket is in the epoll set (curl_multi_assign).
int CurlMultiTransport::OnSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* self,
                                 void* socket_data) {
  auto* transport = static_cast<CurlMultiTransport*>(self);
  const int epoll = transport->epoll_.get();
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nullptr);
    curl_multi_assign(transport->multi_.get(), socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = EpollEvents(what);
  event.data.fd = socket;
  const int op = socket_data == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll, op, socket, &event) != 0) {
    // A socket number reused after a close that epoll saw first, or the other way round.
    ::epoll_ctl(epoll, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, &event);
  }
  curl_multi_assign(transport->multi_.get(), socket, transport);
  return 0;
}

// libcurl: call socket_action(CURL_SOCKET_TIMEOUT) in `timeout_ms` (-1: no timer).
int CurlMultiTransport::OnTimer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* transport = static_cast<CurlMultiTransport*>(self);
  transport->timer_due_ms_ = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  return 0;
}

void CurlMultiTransport::Act(curl_socket_t socket, int events) {
  int running = 0;
  curl_multi_socket_action(multi_.get(), socket, events, &running);
}

CurlEasy CurlMultiTransport::TakeHandle() {
  if (idle_.empty()) return CurlEasy();
  CurlEasy easy = std::move(idle_.back());
  idle_.pop_back();
  return easy;
}

void CurlMultiTransport::Start(uint64_t tag, HttpCall request) {
  auto call = std::make_unique<Call>();
  call->tag = tag;
  call->body = std::move(request.body);
  call->easy = TakeHandle();
  std::fill(request.body.begin(), request.body.end(), '\0');
  CURL* h = call->easy.get();
  bool set = h != nullptr && multi_;
  for (const std::string& header : request.headers) {
    set = set && call->headers.Append(header.c_str());
  }
  call->deadline_ms = NowMs() + int64_t{std::max(1, request.timeout_seconds)} * 1000;
  set = set && ConfigureGatewayCall(h, request.url.c_str(), request.timeout_seconds, &call->reply) &&
        curl_easy_setopt(h, CURLOPT_TIMEOUT,
                         long{std::max(1, request.timeout_seconds)} + kCurlTimeoutSlackSeconds) ==
            CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers.get()) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(call->body.size())) == CURLE_OK &&
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body.c_str()) == CURLE_OK &&
        curl_multi_add_handle(multi_.get(), h) == CURLM_OK;
  if (!set) {
    std::fill(call->body.begin(), call->body.end(), '\0');
    failed_to_start_.push_back({tag, {CURLE_FAILED_INIT, 0, ""}});
    return;
  }
  calls_.emplace(h, std::move(call));
}

// The thread may come back late (a slow database call in the dispatcher's loop): calls
// past their deadline that never sent their request end first; then what arrived
// meanwhile is read, libcurl's timers run, and the other calls past their deadline end as
// timeouts. libcurl's timeout alone would judge first and read after, so
// an answer that came in time would count as a timeout, and the SMS be sent again.
std::vector<Transport::Finished> CurlMultiTransport::Wait(int max_ms) {
  std::vector<Finished> finished = std::move(failed_to_start_);
  failed_to_start_.clear();
  if (!ok()) return finished;
  const int64_t deadline = NowMs() + std::max(0, max_ms);
  ExpireOverdue(NowMs(), finished, /*unsent_only=*/true);  // never send a request late
  bool woken = PollSockets(0);
  for (bool first = true;; first = false) {
    const int64_t now = NowMs();
    if (timer_due_ms_ >= 0 && timer_due_ms_ <= now) {
      timer_due_ms_ = -1;
      Act(CURL_SOCKET_TIMEOUT, 0);
    }
    Collect(finished);
    ExpireOverdue(now, finished, /*unsent_only=*/false);
    if (woken || !finished.empty() || (!first && now >= deadline)) return finished;
    int64_t wait = std::max<int64_t>(0, deadline - now);
    if (timer_due_ms_ >= 0) wait = std::min(wait, std::max<int64_t>(0, timer_due_ms_ - now));
    for (const auto& [easy, call] : calls_) {
      wait = std::min(wait, std::max<int64_t>(0, call->deadline_ms - now));
    }
    woken = PollSockets(static_cast<int>(wait));
  }
}

// Acts on the sockets that are ready within `wait_ms`; true when Wake was called.
bool CurlMultiTransport::PollSockets(int wait_ms) {
  epoll_event events[kMaxEvents];
  const int ready = ::epoll_wait(epoll_.get(), events, kMaxEvents, wait_ms);
  bool woken = false;
  for (int i = 0; i < ready; ++i) {
    if (events[i].data.fd == wake_.get()) {
      uint64_t count = 0;
      while (::read(wake_.get(), &count, sizeof count) > 0) {
      }
      woken = true;
      continue;
    }
    Act(events[i].data.fd, CurlEvents(events[i].events));
  }
  return woken;
}

// Calls past their deadline end as timeouts. `unsent_only`: only those whose request has
// not gone out yet (still connecting): one that connected while the thread was away must
// not be sent after its deadline, when its answer would no longer count.
void CurlMultiTransport::ExpireOverdue(int64_t now, std::vector<Finished>& finished,
                                       bool unsent_only) {
  std::vector<CURL*> overdue;
  for (const auto& [easy, call] : calls_) {
    if (call->deadline_ms > now) continue;
    long sent = 0;
    if (unsent_only && curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
        sent > 0) {
      continue;
    }
    overdue.push_back(easy);
  }
  for (CURL* easy : overdue) Finish(easy, CURLE_OPERATION_TIMEDOUT, finished);
}

void CurlMultiTransport::Collect(std::vector<Finished>& finished) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Finish(msg->easy_handle, static_cast<int>(msg->data.result), finished);
  }
}

void CurlMultiTransport::Finish(CURL* easy, int curl_code, std::vector<Finished>& finished) {
  auto found = calls_.find(easy);
  if (found == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(found->second);
  calls_.erase(found);
  curl_multi_remove_handle(multi_.get(), easy);
  long status = 0;
  if (curl_code == CURLE_OK && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
    curl_code = CURLE_GOT_NOTHING;
  }
  std::fill(call->body.begin(), call->body.end(), '\0');
  finished.push_back({call->tag, {curl_code, status, std::move(call->reply)}});
  // Reset drops the options (and the pointers into `call`); the connection stays in the
  // multi handle's cache for the next call.
  curl_easy_reset(easy);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(call->easy));
}

void CurlMultiTransport::Wake() {
  if (!wake_.valid()) return;
  const uint64_t one = 1;
  // Nothing to do when it fails: the counter is full, so a wake-up is pending anyway.
  [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace phoneverify::sms
