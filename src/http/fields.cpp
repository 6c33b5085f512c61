#include "http/fields.h"

#include <json/reader.h>
#include <json/value.h>

#include <exception>
#include <memory>

#include "util/text.h"

namespace phoneverify::http {
namespace {

using util::Error;
using util::ErrorKind;

Error InvalidJson(std::string details) {
  return Error::Make(ErrorKind::kInvalidInput, "invalid_json", std::move(details));
}

Error InvalidField(std::string details, std::string field = "") {
  return Error::Make(ErrorKind::kInvalidInput, "invalid_field", std::move(details),
                     std::move(field));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

enum class BodyFormat { kJson, kForm, kUnsupported };

// Media type without parameters; an unsupported charset makes the type unsupported
// (a client sending Latin-1 would otherwise have its text silently misread).
BodyFormat FormatOf(std::string_view content_type) {
  std::string_view rest = content_type;
  size_t semi = rest.find(';');
  std::string type = Lower(Trim(rest.substr(0, semi)));
  while (semi != std::string_view::npos) {
    rest = rest.substr(semi + 1);
    semi = rest.find(';');
    std::string_view param = Trim(rest.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(param.substr(0, eq))) != "charset") continue;
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    std::string charset = Lower(value);
    if (charset != "utf-8" && charset != "utf8" && charset != "us-ascii") {
      return BodyFormat::kUnsupported;
    }
  }
  if (type == "application/json") return BodyFormat::kJson;
  if (type == "application/x-www-form-urlencoded") return BodyFormat::kForm;
  return BodyFormat::kUnsupported;
}

bool SafeText(std::string_view text) {
  return text.find('\0') == std::string_view::npos && util::IsValidUtf8(text);
}

std::unique_ptr<Json::CharReader> MakeStrictReader() {
  Json::CharReaderBuilder builder;
  Json::CharReaderBuilder::strictMode(&builder.settings_);
  builder["stackLimit"] = kJsonMaxDepth;
  builder["rejectDupKeys"] = true;
  builder["failIfExtra"] = true;
  builder["allowSpecialFloats"] = false;
  return std::unique_ptr<Json::CharReader>(builder.newCharReader());
}

// True when a '/' appears outside string literals: JSON has none there, but jsoncpp
// skips a comment after an object member even with allowComments off (found by
// tests/integration/hostile_http_test.cpp).
bool HasSlashOutsideStrings(std::string_view body) {
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '/') {
      return true;
    }
  }
  return false;
}

// One reader per thread, made once: building one costs more than parsing a small body.
// A reader resets its state at every parse (also after one that threw).
Json::CharReader& StrictReader() {
  thread_local const std::unique_ptr<Json::CharReader> reader = MakeStrictReader();
  return *reader;
}

// Copies the string members of `root` into fields; see the header for the rules.
util::Result<Fields> ObjectToFields(const Json::Value& root) {
  Fields fields;
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string name = it.name();
    if (!SafeText(name)) return InvalidJson("Field names must be valid UTF-8 text.");
    const Json::Value& value = *it;
    if (value.isNull()) continue;
    if (!value.isString()) return InvalidField("Must be a string.", name);
    std::string text = value.asString();
    if (!SafeText(text)) return InvalidJson("Strings must be valid UTF-8 text.");
    fields.emplace(std::move(name), std::move(text));
  }
  return fields;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

util::Result<Fields> ParseJsonObject(std::string_view body) {
  // jsoncpp copies raw bytes into strings unchecked, so UTF-8 is checked up front, and
  // decoded strings again afterwards (\u0000 and lone \uDC00 escapes).
  if (!SafeText(body)) return InvalidJson("The body is not valid UTF-8 JSON.");
  if (HasSlashOutsideStrings(body)) return InvalidJson("Comments are not JSON.");
  Json::Value root;
  std::string errors;
  bool parsed = false;
  try {
    parsed = StrictReader().parse(body.data(), body.data() + body.size(), &root, &errors);
  } catch (const std::exception&) {
    parsed = false;  // jsoncpp throws past stackLimit: deep nesting must not crash us
  }
  if (!parsed) return InvalidJson("The body is not valid JSON.");
  if (!root.isObject()) return InvalidJson("The body must be a JSON object.");
  return ObjectToFields(root);
}

util::Result<Fields> ParseForm(std::string_view text) {
  Fields fields;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    if (!name || !SafeText(*name)) return InvalidField("Malformed form encoding.");
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto value = PercentDecode(raw_value, true);
    if (!value) return InvalidField("Malformed %-escape.", *name);
    if (!SafeText(*value)) return InvalidField("Must be valid UTF-8 text.", *name);
    if (fields.count(*name) != 0) return InvalidField("Given more than once.", *name);
    fields.emplace(std::move(*name), std::move(*value));
  }
  return fields;
}

util::Result<Fields> ParseQuery(std::string_view query) { return ParseForm(query); }

util::Result<Fields> ParseFields(const Request& request) {
  if (request.body_state == BodyState::kTooLarge) {
    return Error::Make(ErrorKind::kTooLarge, "body_too_large", "The request body is too large.");
  }
  if (request.body.empty()) return Fields();
  switch (FormatOf(request.content_type)) {
    case BodyFormat::kJson:
      return ParseJsonObject(request.body);
    case BodyFormat::kForm:
      return ParseForm(request.body);
    case BodyFormat::kUnsupported:
      break;
  }
  return Error::Make(ErrorKind::kUnsupportedMedia, "unsupported_media_type",
                     "Send application/json or application/x-www-form-urlencoded (UTF-8).");
}

}  // namespace phoneverify::http
