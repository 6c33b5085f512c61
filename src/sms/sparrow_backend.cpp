#include "sms/sparrow_backend.h"

#include <json/value.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

#include "domain/phone_number.h"
#include "sms/sparrow_http.h"

namespace phoneverify::sms {
namespace {

constexpr int kFirstSparrowError = 1000;
constexpr int kLastSparrowError = 1013;
constexpr int kInvalidToken = 1002;
constexpr int kNoCredits = 1012;            // "No Credits Available"
constexpr int kInsufficientCredits = 1013;  // "Insufficient Credits"

using EscapedPtr = std::unique_ptr<char, decltype(&curl_free)>;

SendResult Make(SendResult::Kind kind, int code, std::string detail) {
  SendResult result;
  result.kind = kind;
  result.gateway_code = code;
  result.detail = std::move(detail);
  return result;
}

void ReplaceAll(std::string& text, const std::string& secret, const char* with) {
  if (secret.empty()) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), with);
  }
}

// Sparrow's response_code, as a number or a numeric string; 0 when absent.
int ResponseCode(const Json::Value& reply) {
  const Json::Value& code = reply["response_code"];
  if (code.isInt()) return code.asInt();
  if (code.isString()) {
    try {
      return std::stoi(code.asString());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string ResponseText(const Json::Value& reply) {
  const Json::Value& text = reply["response"];
  return text.isString() ? CleanSparrowText(text.asString()) : "";
}

SendResult SparrowError(int code, const std::string& text) {
  std::string detail = "sparrow " + std::to_string(code);
  if (!text.empty()) detail += ": " + text;
  SendResult result = Make(SendResult::Kind::kPermanent, code, std::move(detail));
  result.out_of_credit = code == kNoCredits || code == kInsufficientCredits;
  result.whole_gateway = result.out_of_credit || code == kInvalidToken;
  return result;
}

// Appends "&name=value" (no '&' first), value percent-encoded by libcurl.
bool AppendField(const char* name, const std::string& value, std::string& body) {
  EscapedPtr escaped(curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size())),
                     &curl_free);
  if (!escaped) return false;
  if (!body.empty()) body.push_back('&');
  body.append(name).append("=").append(escaped.get());
  return true;
}

bool IsSparrowError(int code) { return code >= kFirstSparrowError && code <= kLastSparrowError; }

}  // namespace

SendResult InterpretSparrowReply(long http_status, std::string_view body) {
  const auto reply = ParseSparrowObject(body);
  const int code = reply ? ResponseCode(*reply) : 0;
  const std::string text = reply ? ResponseText(*reply) : "";
  const int http = static_cast<int>(http_status);
  const std::string http_detail = "http " + std::to_string(http);
  if (IsSparrowError(code) && (http == 200 || (http >= 400 && http < 500))) {
    return SparrowError(code, text);
  }
  if (http == 200) {
    if (code == 200) return Make(SendResult::Kind::kDelivered, 200, "");
    // Unclear whether it went out; a repeat carries the same code, so retrying is safe.
    return Make(SendResult::Kind::kTransient, 200, "unexpected reply");
  }
  if (http == 408 || http == 429) {
    return Make(SendResult::Kind::kTransient, http, http_detail);
  }
  if (http >= 400 && http < 500) {
    return Make(SendResult::Kind::kPermanent, http,
                text.empty() ? http_detail : http_detail + ": " + text);
  }
  return Make(SendResult::Kind::kTransient, http, http_detail);
}

SparrowBackend::SparrowBackend(std::string url, std::string token, std::string from,
                               int timeout_seconds)
    : url_(std::move(url)),
      token_(std::move(token)),
      from_(std::move(from)),
      timeout_seconds_(timeout_seconds > 0 ? timeout_seconds : kDefaultGatewayTimeoutSeconds) {}

SmsBackend::Prepared SparrowBackend::Prepare(const OutgoingSms& sms) {
  HttpCall call;
  call.url = url_;
  call.headers = {"Accept: application/json", "Expect:"};
  call.timeout_seconds = timeout_seconds_;
  if (!AppendField("token", token_, call.body) || !AppendField("from", from_, call.body) ||
      !AppendField("to", sms.to, call.body) || !AppendField("text", sms.text, call.body)) {
    std::fill(call.body.begin(), call.body.end(), '\0');
    return Make(SendResult::Kind::kTransient, 0, "out of memory");
  }
  return call;
}

SendResult SparrowBackend::Interpret(const OutgoingSms& sms, const HttpAnswer& answer) const {
  if (answer.curl_code != CURLE_OK) return InterpretCurlFailure(answer.curl_code);
  SendResult result = InterpretSparrowReply(answer.status, answer.body);
  // A gateway may echo what it got; the token and the text (holding the code) stay out.
  ReplaceAll(result.detail, token_, "***");
  ReplaceAll(result.detail, sms.text, "***");
  ReplaceAll(result.detail, sms.to, domain::MaskPhone(sms.to).c_str());
  return result;
}

}  // namespace phoneverify::sms
