// Process-wide libcurl initialisation, owned by main (curl_global_init is not
// thread-safe and must run before any thread or easy handle exists).
#pragma once

namespace phoneverify::sms {

class CurlGlobal {
 public:
  // Calls curl_global_init(CURL_GLOBAL_DEFAULT); check ok() before building gateways.
  CurlGlobal();
  // curl_global_cleanup() when init succeeded.
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;

  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

}  // namespace phoneverify::sms
