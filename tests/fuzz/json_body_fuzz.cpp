// libFuzzer target: JSON request bodies (http::ParseJsonObject, and ParseFields with a JSON
// Content-Type). Invariants: no crash, and every accepted value is NUL-free valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/fields.h"
#include "http/request.h"
#include "util/text.h"

using namespace phoneverify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto fields = http::ParseJsonObject(body);
  if (fields.ok()) {
    for (const auto& [name, value] : fields.value()) {
      if (!util::IsValidUtf8(name) || !util::IsValidUtf8(value)) std::abort();
      if (value.find('\0') != std::string::npos) std::abort();
    }
  }
  http::Request request;
  request.content_type = "application/json; charset=utf-8";
  request.body = std::string(body);
  auto parsed = http::ParseFields(request);
  if (parsed.ok() != fields.ok() && !body.empty()) std::abort();
  return 0;
}
