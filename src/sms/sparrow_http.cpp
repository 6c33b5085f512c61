#include "sms/sparrow_http.h"

#include <json/reader.h>

#include <algorithm>
#include <exception>
#include <memory>

namespace phoneverify::sms {
namespace {

constexpr size_t kMaxTextBytes = 120;

size_t CollectReply(char* data, size_t size, size_t count, void* user) {
  auto* reply = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  const size_t room = kMaxGatewayReplyBytes - std::min(kMaxGatewayReplyBytes, reply->size());
  reply->append(data, std::min(bytes, room));
  return bytes;  // keep reading: a truncated body just fails to parse
}

}  // namespace

bool ConfigureGatewayCall(CURL* h, const char* url, int timeout_seconds, std::string* reply) {
  const long timeout = timeout_seconds > 0 ? timeout_seconds : kDefaultGatewayTimeoutSeconds;
  const long connect = std::min(timeout, kMaxGatewayConnectSeconds);
  return curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK &&
         // The token rides in the body: the peer must prove it is the gateway (libcurl's
         // defaults, stated so no later change can drop them quietly).
         curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_USERAGENT, "phoneverify/1.0") == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CollectReply) == CURLE_OK &&
         curl_easy_setopt(h, CURLOPT_WRITEDATA, reply) == CURLE_OK;
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
  SendResult result;
  result.kind = SendResult::Kind::kTransient;
  result.detail = std::move(detail);
  return result;
}

std::optional<Json::Value> ParseSparrowObject(std::string_view body) {
  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["stackLimit"] = 16;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  std::string errors;
  bool parsed = false;
  try {
    parsed = reader->parse(body.data(), body.data() + body.size(), &root, &errors);
  } catch (const std::exception&) {
    // Found by tests/fuzz/sparrow_reply_fuzz.cpp: a deeply nested reply.
    parsed = false;
  }
  if (!parsed || !root.isObject()) return std::nullopt;
  return root;
}

std::string CleanSparrowText(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  if (out.size() <= kMaxTextBytes) return out;
  size_t cut = kMaxTextBytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + "...";
}

}  // namespace phoneverify::sms
