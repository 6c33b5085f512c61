#include "sms/sparrow_gateway.h"

#include <json/value.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

#include "domain/phone_number.h"
#include "sms/curl_easy.h"
#include "sms/sparrow_http.h"

namespace phoneverify::sms {
namespace {

constexpr int kFirstSparrowError = 1000;
constexpr int kLastSparrowError = 1013;
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
  return result;
}

// Appends "&name=value" (no '&' first), value percent-encoded by libcurl.
bool AppendField(CURL* h, const char* name, const std::string& value, std::string& body) {
  EscapedPtr escaped(curl_easy_escape(h, value.data(), static_cast<int>(value.size())), &curl_free);
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

SendResult InterpretCurlFailure(int curl_code) {
  const auto code = static_cast<CURLcode>(curl_code);
  std::string detail;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      detail = "timeout";
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      detail = "connect failed";
      break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      detail = "connection dropped";
      break;
    default:
      detail = std::string("curl: ") + curl_easy_strerror(code);
  }
  return Make(SendResult::Kind::kTransient, 0, std::move(detail));
}

SparrowGateway::SparrowGateway(std::string url, std::string token, std::string from,
                               int timeout_seconds)
    : url_(std::move(url)),
      token_(std::move(token)),
      from_(std::move(from)),
      timeout_seconds_(timeout_seconds > 0 ? timeout_seconds : kDefaultSparrowTimeoutSeconds),
      curl_(std::make_unique<CurlEasy>()),
      headers_(std::make_unique<CurlHeaders>()) {
  Configure();
}

SparrowGateway::~SparrowGateway() = default;

void SparrowGateway::Configure() {
  if (!*curl_) {
    init_error_ = "curl_easy_init failed";
    return;
  }
  if (!headers_->Append("Accept: application/json") || !headers_->Append("Expect:")) {
    init_error_ = "out of memory";
    return;
  }
  CURL* h = curl_.get()->get();
  const bool set = ConfigureSparrowCall(h, url_.c_str(), timeout_seconds_, &reply_) &&
                   curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_->get()) == CURLE_OK &&
                   curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
  if (!set) init_error_ = "curl setup failed (http/https support missing?)";
}

SendResult SparrowGateway::Send(const std::string& to, const std::string& text) {
  if (!ok()) return Make(SendResult::Kind::kTransient, 0, init_error_);
  CURL* h = curl_->get();
  std::string body;
  if (!AppendField(h, "token", token_, body) || !AppendField(h, "from", from_, body) ||
      !AppendField(h, "to", to, body) || !AppendField(h, "text", text, body)) {
    return Make(SendResult::Kind::kTransient, 0, "out of memory");
  }
  reply_.clear();
  if (curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str()) != CURLE_OK ||
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())) !=
          CURLE_OK) {
    return Make(SendResult::Kind::kTransient, 0, "curl setup failed");
  }
  const CURLcode rc = curl_easy_perform(h);
  // The handle keeps the body pointer; point it away before `body` (holding the token) dies.
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  std::fill(body.begin(), body.end(), '\0');
  if (rc != CURLE_OK) return InterpretCurlFailure(rc);
  long status = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
    return Make(SendResult::Kind::kTransient, 0, "no http status");
  }
  SendResult result = InterpretSparrowReply(status, reply_);
  // A gateway may echo what it got; the token and the text (holding the code) stay out.
  ReplaceAll(result.detail, token_, "***");
  ReplaceAll(result.detail, text, "***");
  ReplaceAll(result.detail, to, domain::MaskPhone(to).c_str());
  return result;
}

}  // namespace phoneverify::sms
