// A browser-like libcurl client for the HTML pages: one connection, a cookie jar (curl's
// cookie engine, in memory), form posts, no redirect following (tests look at the 303s).
#pragma once

#include <curl/curl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http_client.h"

namespace phoneverify::itest {

using FormFields = std::map<std::string, std::string>;

class FormClient {
 public:
  // `base` like "http://127.0.0.1:8080" (no trailing slash).
  explicit FormClient(std::string base);
  explicit FormClient(int port) : FormClient("http://127.0.0.1:" + std::to_string(port)) {}

  HttpResponse Get(const std::string& path, const std::vector<std::string>& headers = {});
  // POST application/x-www-form-urlencoded exactly these fields.
  HttpResponse Post(const std::string& path, const FormFields& fields,
                    const std::vector<std::string>& headers = {});
  // GET `form_page`, then POST `fields` plus the page's hidden inputs (csrf_token,
  // next) to `action`, as a person filling in the form would.
  HttpResponse Submit(const std::string& form_page, const std::string& action,
                      FormFields fields);

  // The cookie's value in the jar, "" when absent.
  std::string Cookie(const std::string& name) const;
  // Sets (or replaces) a cookie for 127.0.0.1.
  void SetCookie(const std::string& name, const std::string& value);
  void ClearCookies();

  const std::string& base() const { return base_; }

 private:
  HttpResponse Perform(const std::string& path, const std::vector<std::string>& headers,
                       const std::string* body);

  std::string base_;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
};

// The hidden inputs of a page (the first value of each name), HTML entities decoded.
FormFields HiddenFieldsIn(const std::string& html);
// &lt; &gt; &quot; &#39; &#x2F; &amp; decoded.
std::string HtmlUnescape(std::string text);
// The value of the first hidden csrf_token input in a page, "" when none.
std::string CsrfTokenIn(const std::string& html);
// application/x-www-form-urlencoded text of `fields`.
std::string FormEncode(const FormFields& fields);

}  // namespace phoneverify::itest
