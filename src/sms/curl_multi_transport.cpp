#include "sms/curl_multi_transport.h"

#include <algorithm>
#include <string>
#include <utility>

#include "sms/sparrow_http.h"

namespace phoneverify::sms {
namespace {

constexpr size_t kMaxIdleHandles = 512;

}  // namespace

struct CurlMultiTransport::Call {
  uint64_t tag = 0;
  CurlEasy easy;
  CurlHeaders headers;
  std::string body;   // holds the code: wiped when the call ends
  std::string reply;  // written by libcurl
};

CurlMultiTransport::CurlMultiTransport() {
  if (!multi_) return;
  // Calls share an HTTP/2 connection once one is up. No CURLOPT_PIPEWAIT: against an
  // HTTP/1.1 gateway it would hold a burst back for the first answer.
  curl_multi_setopt(multi_.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

CurlMultiTransport::~CurlMultiTransport() {
  for (auto& [easy, call] : calls_) {
    curl_multi_remove_handle(multi_.get(), easy);
    std::fill(call->body.begin(), call->body.end(), '\0');
  }
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
  set = set && ConfigureGatewayCall(h, request.url.c_str(), request.timeout_seconds, &call->reply) &&
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

std::vector<Transport::Finished> CurlMultiTransport::Wait(int max_ms) {
  std::vector<Finished> finished = std::move(failed_to_start_);
  failed_to_start_.clear();
  if (!multi_) return finished;
  int running = 0;
  curl_multi_perform(multi_.get(), &running);
  Collect(finished);
  if (finished.empty() && max_ms > 0) {
    // Returns on activity on a transfer's socket, on a wake-up, or after max_ms (libcurl
    // may end it sooner for its own timers; the caller just waits again).
    curl_multi_poll(multi_.get(), nullptr, 0, max_ms, nullptr);
    curl_multi_perform(multi_.get(), &running);
    Collect(finished);
  }
  return finished;
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
  if (multi_) curl_multi_wakeup(multi_.get());
}

}  // namespace phoneverify::sms
