// In-memory SmsGateway for unit tests: records every call and answers from a scripted
// queue of results (kDelivered once the queue is empty, unless SetDefault changed it).
// An optional hook runs inside Send (to simulate things happening mid-call).
// Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sms/sms_gateway.h"

namespace phoneverify::fakes {

class FakeGateway final : public sms::SmsGateway {
 public:
  struct Call {
    std::string to;
    std::string text;
  };
  using Hook = std::function<void(const std::string& to, const std::string& text)>;

  static sms::SendResult Delivered() {
    sms::SendResult r;
    r.kind = sms::SendResult::Kind::kDelivered;
    r.gateway_code = 200;
    return r;
  }
  static sms::SendResult Transient(std::string detail, int code = 0) {
    sms::SendResult r;
    r.kind = sms::SendResult::Kind::kTransient;
    r.gateway_code = code;
    r.detail = std::move(detail);
    return r;
  }
  static sms::SendResult Permanent(int code, std::string detail) {
    sms::SendResult r;
    r.kind = sms::SendResult::Kind::kPermanent;
    r.gateway_code = code;
    r.detail = std::move(detail);
    return r;
  }

  // Sparrow 1012/1013: the account has no credits left.
  static sms::SendResult NoCredit(int code = 1013) {
    sms::SendResult r = Permanent(code, "sparrow " + std::to_string(code) + ": no credits");
    r.out_of_credit = true;
    r.whole_gateway = true;
    return r;
  }
  // Sparrow 1002: the account's token is refused.
  static sms::SendResult InvalidToken() {
    sms::SendResult r = Permanent(1002, "sparrow 1002: Invalid Token");
    r.whole_gateway = true;
    return r;
  }

  explicit FakeGateway(std::string name = "fake") : name_(std::move(name)) {}

  // Queues `result` for one future call (`times` calls).
  void Push(const sms::SendResult& result, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < times; ++i) script_.push_back(result);
  }
  // What calls answer once the script is exhausted.
  void SetDefault(const sms::SendResult& result) {
    std::lock_guard<std::mutex> lock(mu_);
    default_ = result;
  }
  void SetHook(Hook hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
  }

  sms::SendResult Send(const std::string& to, const std::string& text) override {
    Hook hook;
    sms::SendResult result;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({to, text});
      result = default_;
      if (!script_.empty()) {
        result = script_.front();
        script_.pop_front();
      }
      hook = hook_;
    }
    if (hook) hook(to, text);  // outside the lock: the hook may call back into us
    return result;
  }
  const char* Name() const override { return name_.c_str(); }

  std::vector<Call> Calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t CallCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::deque<sms::SendResult> script_;
  sms::SendResult default_ = Delivered();
  Hook hook_;
  std::vector<Call> calls_;
};

}  // namespace phoneverify::fakes
