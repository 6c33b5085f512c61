#include "sms/sparrow_credit.h"

#include <json/value.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "sms/curl_easy.h"
#include "sms/sparrow_http.h"

namespace phoneverify::sms {
namespace {

using EscapedPtr = std::unique_ptr<char, decltype(&curl_free)>;

// A number, or a numeric string (Sparrow is not consistent about which).
std::optional<int64_t> Number(const Json::Value& value) {
  if (value.isIntegral()) return value.asInt64();
  if (value.isDouble()) return static_cast<int64_t>(value.asDouble());
  if (!value.isString()) return std::nullopt;
  const std::string text = value.asString();
  if (text.empty() || text.find_first_not_of("0123456789-.") != std::string::npos) {
    return std::nullopt;
  }
  try {
    return static_cast<int64_t>(std::stod(text));
  } catch (...) {
    return std::nullopt;
  }
}

util::Error Unavailable(const std::string& why) {
  return util::Error::Make(util::ErrorKind::kUnavailable, "unavailable", why);
}

util::Error SparrowError(int64_t code, const Json::Value& reply) {
  std::string details = "sparrow " + std::to_string(code);
  if (reply["response"].isString()) details += ": " + CleanSparrowText(reply["response"].asString());
  return util::Error::Make(util::ErrorKind::kForbidden, "sparrow_" + std::to_string(code), details);
}

SparrowCredit CreditFrom(const Json::Value& reply, int64_t available) {
  SparrowCredit credit;
  credit.credits_available = available;
  for (const std::string& name : reply.getMemberNames()) {
    const Json::Value& value = reply[name];
    if (name == "credits_available" || name == "response_code" ||
        !value.isConvertibleTo(Json::stringValue) || value.isNull()) {
      continue;
    }
    credit.details.emplace_back(CleanSparrowText(name), CleanSparrowText(value.asString()));
  }
  return credit;
}

}  // namespace

util::Result<SparrowCredit> InterpretCreditReply(long http_status, std::string_view body) {
  const auto reply = ParseSparrowObject(body);
  const std::optional<int64_t> code =
      reply ? Number((*reply)["response_code"]) : std::optional<int64_t>();
  if (reply && code && *code >= 1000 && *code <= 1013 && http_status >= 200 && http_status < 500) {
    return SparrowError(*code, *reply);
  }
  const std::string http = "http " + std::to_string(http_status);
  if (http_status >= 500 || http_status == 408 || http_status == 429) return Unavailable(http);
  if (http_status != 200) return util::Error::Internal("unexpected reply: " + http);
  const std::optional<int64_t> available =
      reply ? Number((*reply)["credits_available"]) : std::optional<int64_t>();
  if (!available) return Unavailable("unreadable reply (no credits_available)");
  return CreditFrom(*reply, *available);
}

util::Result<SparrowCredit> QuerySparrowCredit(const std::string& credit_url,
                                               const std::string& token, int timeout_seconds) {
  CurlEasy curl;
  if (!curl) return util::Error::Internal("curl_easy_init failed");
  CURL* h = curl.get();
  EscapedPtr escaped(curl_easy_escape(h, token.data(), static_cast<int>(token.size())), &curl_free);
  if (!escaped) return util::Error::Internal("out of memory");
  std::string url = credit_url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "token=";
  url += escaped.get();
  std::string reply;
  const bool configured = ConfigureGatewayCall(h, url.c_str(), timeout_seconds, &reply) &&
                          curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
  std::fill(url.begin(), url.end(), '\0');  // libcurl copied it
  if (!configured) return util::Error::Internal("curl setup failed");
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // curl_easy_strerror names the failure class only, never the URL.
    return Unavailable(std::string("curl: ") + curl_easy_strerror(rc));
  }
  long status = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
    return Unavailable("no http status");
  }
  return InterpretCreditReply(status, reply);
}

}  // namespace phoneverify::sms
