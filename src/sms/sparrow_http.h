// What the gateway calls (the sends of every HTTP backend through CurlMultiTransport;
// sparrow_credit.cpp: credit) share: the libcurl set-up of an easy handle, the reply
// collector, the meaning of a libcurl failure, the reading of a reply body as a JSON
// object, and the cleaning of gateway text for details and logs.
#pragma once

#include <curl/curl.h>
#include <json/value.h>

#include <optional>
#include <string>
#include <string_view>

#include "sms/sms_gateway.h"

namespace phoneverify::sms {

inline constexpr size_t kMaxGatewayReplyBytes = 16 * 1024;  // replies are tiny; cap a rogue one
inline constexpr int kDefaultGatewayTimeoutSeconds = 10;
inline constexpr long kMaxGatewayConnectSeconds = 5;

// Sets on `h` the options every call to a gateway uses: `url`; http(s) only, also after
// redirects, and no redirects followed; no proxy from the environment (the token must go
// only where configured); no signals; a total timeout of `timeout_seconds` (<= 0: 10)
// and a connect timeout of at most 5 s; the user agent; the body appended to `reply`
// (at most kMaxGatewayReplyBytes kept). The handle keeps its connection between calls.
// False when an option could not be set (e.g. http/https support missing).
bool ConfigureGatewayCall(CURL* h, const char* url, int timeout_seconds, std::string* reply);

// A libcurl failure (a CURLcode other than CURLE_OK) as kTransient: "timeout",
// "connect failed", "connection dropped" or "curl: <libcurl's words>".
SendResult InterpretCurlFailure(int curl_code);

// The body as a JSON object, or nothing (not JSON, not an object, nested too deeply:
// jsoncpp throws past its stack limit and that must not end the program).
std::optional<Json::Value> ParseSparrowObject(std::string_view body);

// Printable, single-line, at most 120 bytes (cut on a UTF-8 boundary, "..." added).
std::string CleanSparrowText(std::string_view text);

}  // namespace phoneverify::sms
