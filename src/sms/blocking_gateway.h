// An HTTP backend as a synchronous gateway: Send prepares the call, runs it alone on its
// own CurlMultiTransport and interprets the answer. For one-off sends (tests, tools); the
// dispatcher runs many calls at once instead. Requires a live sms::CurlGlobal. Not
// thread-safe.
#pragma once

#include <memory>
#include <string>

#include "sms/curl_multi_transport.h"
#include "sms/sms_backend.h"
#include "sms/sms_gateway.h"

namespace phoneverify::sms {

class BlockingGateway final : public SmsGateway {
 public:
  explicit BlockingGateway(std::unique_ptr<SmsBackend> backend) : backend_(std::move(backend)) {}

  SendResult Send(const std::string& to, const std::string& text) override;
  const char* Name() const override { return backend_->Name(); }
  bool ok() const { return transport_.ok(); }

 private:
  std::unique_ptr<SmsBackend> backend_;
  CurlMultiTransport transport_;
  uint64_t next_id_ = 1;
};

}  // namespace phoneverify::sms
