#include "form_client.h"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace phoneverify::itest {
namespace {

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    auto& headers = *static_cast<std::map<std::string, std::string>*>(out);
    // Repeated headers (Set-Cookie) are kept together, one per line.
    headers[name] = headers.count(name) ? headers[name] + "\n" + value : value;
  }
  return size * n;
}

}  // namespace

FormClient::FormClient(std::string base)
    : base_(std::move(base)), curl_(curl_easy_init(), curl_easy_cleanup) {
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
  CURL* c = curl_.get();
  curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");  // the in-memory cookie engine
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
}

HttpResponse FormClient::Perform(const std::string& path, const std::vector<std::string>& headers,
                                 const std::string* body) {
  CURL* c = curl_.get();
  HttpResponse response;
  const std::string url = base_ + path;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("curl: ") + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
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
