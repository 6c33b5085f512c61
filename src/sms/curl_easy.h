// RAII owners for libcurl handles: easy, multi, header list (src/sms is the only user of
// <curl/curl.h>).
// Copy is deleted; a move leaves the source empty so a handle is freed exactly once.
#pragma once

#include <curl/curl.h>

#include <utility>

namespace phoneverify::sms {

// One easy handle. Not thread-safe: use from one thread at a time.
class CurlEasy {
 public:
  CurlEasy() : handle_(curl_easy_init()) {}
  ~CurlEasy() { Reset(nullptr); }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  CurlEasy(CurlEasy&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  CurlEasy& operator=(CurlEasy&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.handle_, nullptr));
    return *this;
  }

  CURL* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  void Reset(CURL* handle) {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
    handle_ = handle;
  }
  CURL* handle_;
};

// A header list built with curl_slist_append.
class CurlHeaders {
 public:
  CurlHeaders() = default;
  ~CurlHeaders() { Reset(nullptr); }
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  CurlHeaders(CurlHeaders&& other) noexcept : list_(std::exchange(other.list_, nullptr)) {}
  CurlHeaders& operator=(CurlHeaders&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.list_, nullptr));
    return *this;
  }

  // False when libcurl ran out of memory (the list is left unchanged).
  bool Append(const char* header) {
    curl_slist* grown = curl_slist_append(list_, header);
    if (grown == nullptr) return false;
    list_ = grown;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  void Reset(curl_slist* list) {
    if (list_ != nullptr) curl_slist_free_all(list_);
    list_ = list;
  }
  curl_slist* list_ = nullptr;
};

// One multi handle (the event loop's). Easy handles added to it must be removed before it
// is cleaned up (CurlMultiTransport does so).
class CurlMulti {
 public:
  CurlMulti() : handle_(curl_multi_init()) {}
  ~CurlMulti() {
    if (handle_ != nullptr) curl_multi_cleanup(handle_);
  }
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  CURLM* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  CURLM* handle_;
};

}  // namespace phoneverify::sms
