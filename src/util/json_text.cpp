#include "util/json_text.h"

#include <json/writer.h>

#include <charconv>

namespace phoneverify::util {
namespace {

template <typename Int>
void AppendInt(std::string& out, Int value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Reals are rare here (no API field is one): jsoncpp formats them, so the text stays
// identical to its writer's.
void AppendReal(std::string& out, const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  out += Json::writeString(builder, value);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(text.data() + plain, text.size() - plain);
  out.push_back('"');
}

void AppendJson(std::string& out, const Json::Value& value) {
  switch (value.type()) {
    case Json::nullValue:
      out += "null";
      return;
    case Json::intValue:
      AppendInt(out, value.asLargestInt());
      return;
    case Json::uintValue:
      AppendInt(out, value.asLargestUInt());
      return;
    case Json::realValue:
      AppendReal(out, value);
      return;
    case Json::booleanValue:
      out += value.asBool() ? "true" : "false";
      return;
    case Json::stringValue: {
      const char* begin = nullptr;
      const char* end = nullptr;
      // Like jsoncpp, nothing at all for a string without storage (never built here).
      if (value.getString(&begin, &end)) {
        AppendJsonString(out, std::string_view(begin, static_cast<size_t>(end - begin)));
      }
      return;
    }
    case Json::arrayValue: {
      out.push_back('[');
      for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJson(out, value[i]);
      }
      out.push_back(']');
      return;
    }
    case Json::objectValue: {
      out.push_back('{');
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        const char* name_end = nullptr;
        const char* name = it.memberName(&name_end);
        AppendJsonString(out, std::string_view(name, static_cast<size_t>(name_end - name)));
        out.push_back(':');
        AppendJson(out, *it);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string ToJson(const Json::Value& value) {
  std::string out;
  out.reserve(128);
  AppendJson(out, value);
  return out;
}

}  // namespace phoneverify::util
