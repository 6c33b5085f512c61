#include "form_client.h"

#include "curl_exchange.h"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace phoneverify::itest {

FormClient::FormClient(std::string base)
    : base_(std::move(base)), curl_(curl_easy_init(), curl_easy_cleanup) {
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
  CURL* c = curl_.get();
  curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");  // the in-memory cookie engine
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
}

HttpResponse FormClient::Perform(const std::string& path, const std::vector<std::string>& headers,
                                 const std::string* body) {
  if (body == nullptr) curl_easy_setopt(curl_.get(), CURLOPT_HTTPGET, 1L);
  return PerformExchange(curl_.get(), base_ + path, headers, body);
}

HttpResponse FormClient::Get(const std::string& path, const std::vector<std::string>& headers) {
  return Perform(path, headers, nullptr);
}

HttpResponse FormClient::Post(const std::string& path, const FormFields& fields,
                              const std::vector<std::string>& headers) {
  std::vector<std::string> all = headers;
  all.push_back("Content-Type: application/x-www-form-urlencoded");
  const std::string body = FormEncode(fields);
  return Perform(path, all, &body);
}

HttpResponse FormClient::Submit(const std::string& form_page, const std::string& action,
                                FormFields fields) {
  const HttpResponse page = Get(form_page);
  for (const auto& [name, value] : HiddenFieldsIn(page.body)) fields.emplace(name, value);
  return Post(action, fields);
}

std::string FormClient::Cookie(const std::string& name) const {
  curl_slist* cookies = nullptr;
  curl_easy_getinfo(curl_.get(), CURLINFO_COOKIELIST, &cookies);
  std::string value;
  for (curl_slist* it = cookies; it != nullptr; it = it->next) {
    // Netscape format: domain, tailmatch, path, secure, expires, name, value.
    std::istringstream fields(it->data);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(fields, part, '\t')) parts.push_back(part);
    if (parts.size() >= 6 && parts[5] == name) value = parts.size() >= 7 ? parts[6] : "";
  }
  curl_slist_free_all(cookies);
  return value;
}

void FormClient::SetCookie(const std::string& name, const std::string& value) {
  // Netscape format, host-only (like the cookies the server sets).
  const std::string line = "127.0.0.1\tFALSE\t/\tFALSE\t0\t" + name + "\t" + value;
  curl_easy_setopt(curl_.get(), CURLOPT_COOKIELIST, line.c_str());
}

void FormClient::ClearCookies() { curl_easy_setopt(curl_.get(), CURLOPT_COOKIELIST, "ALL"); }

FormFields HiddenFieldsIn(const std::string& html) {
  static const std::regex kHidden(R"re(<input type="hidden" name="([^"]+)" value="([^"]*)")re");
  FormFields fields;
  for (std::sregex_iterator it(html.begin(), html.end(), kHidden), end; it != end; ++it) {
    fields.emplace((*it)[1].str(), HtmlUnescape((*it)[2].str()));
  }
  return fields;
}

std::string HtmlUnescape(std::string text) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x2F;", "/"},
      {"&amp;", "&"}};
  for (const auto& [entity, plain] : kEntities) {
    const std::string from = entity;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) {
      text.replace(at, from.size(), plain);
    }
  }
  return text;
}

std::string CsrfTokenIn(const std::string& html) {
  const std::string marker = "name=\"csrf_token\" value=\"";
  const size_t at = html.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  return html.substr(start, html.find('"', start) - start);
}

std::string FormEncode(const FormFields& fields) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&name, &value}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out.push_back(static_cast<char>(c));
        } else {
          out += {'%', kHex[c >> 4], kHex[c & 15]};
        }
      }
      if (part == &name) out += '=';
    }
  }
  return out;
}

}  // namespace phoneverify::itest
