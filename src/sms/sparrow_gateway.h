// SmsGateway over the Sparrow SMS HTTP API (contract section 6), using libcurl.
//
// Send() POSTs form-encoded token, from, to, text to the configured URL and classifies
// the reply:
//   HTTP 200 with response_code 200                 -> kDelivered
//   Sparrow error (response_code 1000-1013, any 4xx) -> kPermanent, gateway_code = that
//                                                       code, detail "sparrow 1002: Invalid Token";
//                                                       1012/1013 also set out_of_credit
//   other 4xx (except 408/429)                       -> kPermanent, gateway_code = HTTP status
//   5xx, 408, 429, timeouts, connection errors,
//   unreadable replies                               -> kTransient ("timeout",
//                                                       "connect failed", "http 502", ...)
// `detail` never contains the token or the message text. Nothing is logged here.
//
// Requires a live sms::CurlGlobal. One easy handle is reused across sends (keeps the
// connection warm when the server allows), so an instance is NOT thread-safe: one per
// dispatcher thread. A call blocks for at most `timeout_seconds`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sms/sms_gateway.h"

namespace phoneverify::sms {

class CurlEasy;
class CurlHeaders;

class SparrowGateway final : public SmsGateway {
 public:
  // timeout_seconds <= 0 means 10. The connect phase is limited to min(timeout, 5) s.
  SparrowGateway(std::string url, std::string token, std::string from, int timeout_seconds);
  ~SparrowGateway() override;
  SparrowGateway(const SparrowGateway&) = delete;
  SparrowGateway& operator=(const SparrowGateway&) = delete;

  // False when the curl handle could not be created or configured (see init_error());
  // Send() then answers kTransient.
  bool ok() const { return init_error_.empty(); }
  const std::string& init_error() const { return init_error_; }

  SendResult Send(const std::string& to, const std::string& text) override;
  const char* Name() const override { return "sparrow"; }

 private:
  void Configure();
  std::string url_;
  std::string token_;
  std::string from_;
  int timeout_seconds_;
  std::unique_ptr<CurlEasy> curl_;
  std::unique_ptr<CurlHeaders> headers_;
  std::string reply_;  // response body of the current call (written by libcurl)
  std::string init_error_;
};

// Classifies a completed HTTP exchange (exposed for unit tests).
SendResult InterpretSparrowReply(long http_status, std::string_view body);

// Classifies a libcurl failure code (a CURLcode other than CURLE_OK) as kTransient.
SendResult InterpretCurlFailure(int curl_code);

}  // namespace phoneverify::sms
