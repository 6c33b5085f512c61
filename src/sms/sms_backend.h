// An SMS backend as the dispatcher's event loop sees it: what to ask of the gateway for one
// message (an HTTP call the loop runs with the others in flight, see sms::Transport), and
// what the answer means (a SendResult). Backends hold no connection and do no I/O of
// their own, so one instance serves every message in flight.
//
// Implementations: SparrowBackend (contract section 6), HttpBackend (the generic signed
// JSON gateway), and GatewayBackend, which wraps a synchronous SmsGateway (the console
// backend, test fakes): its Prepare sends at once and returns the result.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sms/sms_gateway.h"

namespace phoneverify::sms {

// One message on its way out.
struct OutgoingSms {
  std::string id;    // unique per message, the same on every try and every backend
  std::string to;    // 10 digits, 98...
  std::string text;  // holds the code: never logged
  int64_t now = 0;   // Unix seconds of this try
};

// An HTTP POST for the transport to make. The body holds the code (and maybe a token):
// whoever holds it wipes it when done (util::Wipe / std::fill).
struct HttpCall {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  int timeout_seconds = 10;  // the whole exchange; connect at most min(this, 5) s
};

// What came back: a libcurl result code (0 = CURLE_OK, then `status` and `body` hold the
// reply; the body is cut at kMaxReplyBytes).
struct HttpAnswer {
  int curl_code = 0;
  long status = 0;
  std::string body;
};

class SmsBackend {
 public:
  using Prepared = std::variant<HttpCall, SendResult>;

  virtual ~SmsBackend() = default;
  // Its name in sms_backend, logs and figures: "sparrow", "http", "console".
  virtual const char* Name() const = 0;
  // The call that sends `sms`, or (a backend that sends by itself, or cannot build the
  // call) the result right away.
  virtual Prepared Prepare(const OutgoingSms& sms) = 0;
  // What the answer to Prepare(sms)'s call means. `detail` never holds a secret, the
  // text or the full phone number.
  virtual SendResult Interpret(const OutgoingSms& sms, const HttpAnswer& answer) const = 0;
};

// A synchronous SmsGateway as a backend (not owned; must outlive this).
class GatewayBackend final : public SmsBackend {
 public:
  explicit GatewayBackend(SmsGateway& gateway) : gateway_(gateway) {}
  const char* Name() const override { return gateway_.Name(); }
  Prepared Prepare(const OutgoingSms& sms) override { return gateway_.Send(sms.to, sms.text); }
  SendResult Interpret(const OutgoingSms&, const HttpAnswer&) const override {
    SendResult unexpected;
    unexpected.detail = "no call was made";
    return unexpected;
  }

 private:
  SmsGateway& gateway_;
};

}  // namespace phoneverify::sms
