// libFuzzer target: form bodies and query strings (http::ParseForm, ParseQuery,
// PercentDecode). Invariants: no crash; accepted names and values are NUL-free valid
// UTF-8; a form and the same text as a query string agree.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/fields.h"
#include "http/request.h"
#include "util/text.h"

using namespace phoneverify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto form = http::ParseForm(text);
  if (form.ok()) {
    for (const auto& [name, value] : form.value()) {
      if (!util::IsValidUtf8(name) || !util::IsValidUtf8(value)) std::abort();
      if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
        std::abort();
      }
    }
  }
  auto query = http::ParseQuery(text);
  if (query.ok() != form.ok()) std::abort();
  http::Request request;
  request.content_type = "application/x-www-form-urlencoded";
  request.body = std::string(text);
  (void)http::ParseFields(request);
  for (bool plus : {false, true}) {
    auto decoded = http::PercentDecode(text, plus);
    if (decoded && decoded->size() > text.size()) std::abort();
  }
  return 0;
}
