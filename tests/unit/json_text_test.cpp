// util::ToJson must write exactly what jsoncpp's compact writer writes (it replaced it on
// the request path for speed), including escapes and member order.
#include <json/writer.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "util/json_text.h"

namespace phoneverify::util {
namespace {

std::string Reference(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  return Json::writeString(builder, value);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_text)

BOOST_AUTO_TEST_CASE(scalars_match_jsoncpp) {
  const Json::Value cases[] = {
      Json::Value(),
      Json::Value(true),
      Json::Value(false),
      Json::Value(0),
      Json::Value(-42),
      Json::Value(Json::Int64(std::numeric_limits<int64_t>::min())),
      Json::Value(Json::UInt64(std::numeric_limits<uint64_t>::max())),
      Json::Value(1.5),
      Json::Value(""),
      Json::Value("plain"),
  };
  for (const auto& value : cases) BOOST_TEST(ToJson(value) == Reference(value));
}

BOOST_AUTO_TEST_CASE(strings_escape_like_jsoncpp) {
  std::string every_byte;
  for (int c = 1; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  const std::string cases[] = {
      "quote \" backslash \\ slash /",
      "\b\f\n\r\t\x01\x1f\x7f",
      std::string("nul \0 inside", 12),
      "नेपाली UTF-8 ✓",
      "\xff\xfe invalid bytes pass through",
      every_byte,
  };
  for (const auto& text : cases) {
    BOOST_TEST(ToJson(Json::Value(text)) == Reference(Json::Value(text)));
  }
}

BOOST_AUTO_TEST_CASE(containers_match_jsoncpp) {
  Json::Value object(Json::objectValue);
  object["zeta"] = 1;
  object["alpha"] = "a\"b";
  object["mid"] = Json::Value(Json::arrayValue);
  object["nested"]["list"].append(1);
  object["nested"]["list"].append(Json::Value());
  object["nested"]["list"].append("x");
  object["nested"]["empty"] = Json::Value(Json::objectValue);
  object[std::string("odd\nkey")] = true;
  BOOST_TEST(ToJson(object) == Reference(object));
  BOOST_TEST(ToJson(Json::Value(Json::objectValue)) == "{}");
  BOOST_TEST(ToJson(Json::Value(Json::arrayValue)) == "[]");
}

BOOST_AUTO_TEST_CASE(append_keeps_what_was_there) {
  std::string out = "x=";
  AppendJsonString(out, "a\tb");
  BOOST_TEST(out == "x=\"a\\tb\"");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::util
