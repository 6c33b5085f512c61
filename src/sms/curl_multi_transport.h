// Transport over libcurl's multi interface: every call in flight at once, driven from the
// one thread that calls Start and Wait. Connections stay in the multi handle's cache and
// are reused by later calls to the same host (HTTP/1.1 keep-alive, or one HTTP/2
// connection for all when the gateway speaks it over TLS); finished easy handles are
// kept for reuse. Each call gets the gateway options of ConfigureGatewayCall (TLS
// verified, no proxy from the environment, no redirects, timeouts).
// Requires a live sms::CurlGlobal. Not thread-safe, except Wake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sms/curl_easy.h"
#include "sms/transport.h"

namespace phoneverify::sms {

class CurlMultiTransport final : public Transport {
 public:
  CurlMultiTransport();
  ~CurlMultiTransport() override;
  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  // False when the multi handle could not be created; every call then fails.
  bool ok() const { return static_cast<bool>(multi_); }

  void Start(uint64_t tag, HttpCall call) override;
  std::vector<Finished> Wait(int max_ms) override;
  size_t in_flight() const override { return calls_.size(); }
  void Wake() override;

 private:
  struct Call;
  void Collect(std::vector<Finished>& finished);
  void Finish(CURL* easy, int curl_code, std::vector<Finished>& finished);
  CurlEasy TakeHandle();

  CurlMulti multi_;
  std::unordered_map<CURL*, std::unique_ptr<Call>> calls_;
  std::vector<CurlEasy> idle_;                 // finished handles, reset, for reuse
  std::vector<Finished> failed_to_start_;      // reported at the next Wait
};

}  // namespace phoneverify::sms
