// Compact JSON text from Json::Value, without jsoncpp's per-call writer set-up (its
// StreamWriterBuilder builds a settings map every time, which showed in profiles).
// The output is byte for byte what Json::writeString gives with indentation "" and
// emitUTF8 = true: no whitespace, members in jsoncpp's (sorted) order, UTF-8 copied
// through, control characters escaped. Thread-safe.
#pragma once

#include <json/value.h>

#include <string>
#include <string_view>

namespace phoneverify::util {

// Appends `value` as JSON text to `out`.
void AppendJson(std::string& out, const Json::Value& value);
// Appends `text` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view text);
// `value` as JSON text.
std::string ToJson(const Json::Value& value);

}  // namespace phoneverify::util
