// Body and query parsing: http::ParseFields / ParseQuery (contract section 4).
#include <boost/test/unit_test.hpp>
#include <string>

#include "http/fields.h"

namespace phoneverify::http {
namespace {

Request Body(std::string content_type, std::string body) {
  Request request;
  request.method = "POST";
  request.content_type = std::move(content_type);
  request.body = std::move(body);
  return request;
}

void ExpectError(const util::Result<Fields>& result, const std::string& code,
                 const std::string& field = "") {
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST(result.error().code == code);
  BOOST_TEST(result.error().field == field);
}

constexpr char kJson[] = "application/json";
constexpr char kForm[] = "application/x-www-form-urlencoded";

}  // namespace

BOOST_AUTO_TEST_SUITE(http_fields)

BOOST_AUTO_TEST_CASE(json_object_of_strings) {
  auto r = ParseFields(Body(kJson, R"({"phone": "9841234567", "otp": "123456"})"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value().at("phone") == "9841234567");
  BOOST_TEST(r.value().at("otp") == "123456");
}

BOOST_AUTO_TEST_CASE(json_keeps_unicode_and_escapes) {
  auto r = ParseFields(Body(kJson, R"({"first_name": "राम", "last_name": "\u00e9\ud83d\ude00"})"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value().at("first_name") == "राम");
  BOOST_TEST(r.value().at("last_name") == "\xc3\xa9\xf0\x9f\x98\x80");
}

BOOST_AUTO_TEST_CASE(json_charset_parameter_allowed) {
  BOOST_TEST(ParseFields(Body("application/json; charset=utf-8", R"({"a":"b"})")).ok());
  BOOST_TEST(ParseFields(Body("Application/JSON;charset=\"UTF-8\"", R"({"a":"b"})")).ok());
  ExpectError(ParseFields(Body("application/json; charset=latin1", R"({"a":"b"})")),
              "unsupported_media_type");
}

BOOST_AUTO_TEST_CASE(json_must_be_an_object) {
  ExpectError(ParseFields(Body(kJson, R"(["a"])")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"("a")")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "42")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "null")), "invalid_json");
}

BOOST_AUTO_TEST_CASE(json_syntax_errors) {
  ExpectError(ParseFields(Body(kJson, "{")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "{'a': 'b'}")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"({"a": "b",})")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"({"a": "b"} {"c": "d"})")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"({"a": "b"} x)")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"(/* c */ {"a": "b"})")), "invalid_json");
}

BOOST_AUTO_TEST_CASE(json_non_string_values_name_the_field) {
  ExpectError(ParseFields(Body(kJson, R"({"phone": "1", "otp": 123456})")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kJson, R"({"phone": true})")), "invalid_field", "phone");
  ExpectError(ParseFields(Body(kJson, R"({"phone": ["98"]})")), "invalid_field", "phone");
  ExpectError(ParseFields(Body(kJson, R"({"phone": {"x": "y"}})")), "invalid_field", "phone");
}

BOOST_AUTO_TEST_CASE(json_null_means_absent) {
  auto r = ParseFields(Body(kJson, R"({"email": null, "username": "ram"})"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value().count("email") == 0u);
  BOOST_TEST(r.value().at("username") == "ram");
}

BOOST_AUTO_TEST_CASE(json_duplicate_keys_rejected) {
  ExpectError(ParseFields(Body(kJson, R"({"otp": "111111", "otp": "222222"})")), "invalid_json");
}

// Regression (hostile_http_test): jsoncpp skipped a comment after an object member even
// in strict mode, so {"phone":"9841234567" /* hi */} was accepted.
BOOST_AUTO_TEST_CASE(json_comments_rejected_anywhere_but_slashes_in_strings_kept) {
  for (const char* body : {R"({"phone":"9841234567" /* hi */})", R"({"a":"b" // x
})", R"(/**/{"a":"b"})", R"({"a":"b"}/**/)", R"({"a" /**/ :"b"})"}) {
    auto parsed = ParseJsonObject(body);
    BOOST_REQUIRE_MESSAGE(!parsed.ok(), body);
    BOOST_TEST(parsed.error().code == "invalid_json");
  }
  auto kept = ParseJsonObject(R"({"url":"http://x/y","q":"a\"/*b*/\\","e":"\/"})");
  BOOST_REQUIRE(kept.ok());
  BOOST_TEST(kept.value().at("url") == "http://x/y");
  BOOST_TEST(kept.value().at("q") == "a\"/*b*/\\");
  BOOST_TEST(kept.value().at("e") == "/");
}

BOOST_AUTO_TEST_CASE(json_deep_nesting_is_an_error_not_a_crash) {
  for (int depth : {kJsonMaxDepth + 1, 10000, 100000}) {
    std::string deep(depth, '[');
    deep += std::string(depth, ']');
    ExpectError(ParseFields(Body(kJson, deep)), "invalid_json");
    std::string objects;
    for (int i = 0; i < depth; ++i) objects += R"({"a":)";
    objects += "\"x\"" + std::string(depth, '}');
    auto r = ParseFields(Body(kJson, objects));
    BOOST_REQUIRE(!r.ok());
  }
}

BOOST_AUTO_TEST_CASE(json_invalid_utf8_rejected) {
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xff\"}")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xc3\"}")), "invalid_json");      // cut
  ExpectError(ParseFields(Body(kJson, "{\"\xe0\x80\": \"b\"}")), "invalid_json");  // cut key
  ExpectError(ParseFields(Body(kJson, R"({"a": "\udc00"})")), "invalid_json");     // lone low
  ExpectError(ParseFields(Body(kJson, R"({"a": "\ud800"})")), "invalid_json");     // lone high
}

BOOST_AUTO_TEST_CASE(json_overlong_utf8_rejected) {
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xc0\xaf\"}")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xe0\x80\xaf\"}")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xf0\x80\x80\xaf\"}")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xed\xa0\x80\"}")), "invalid_json");  // surrogate
  ExpectError(ParseFields(Body(kJson, "{\"a\": \"\xf4\x90\x80\x80\"}")), "invalid_json");
}

BOOST_AUTO_TEST_CASE(json_nul_rejected) {
  ExpectError(ParseFields(Body(kJson, std::string("{\"a\": \"b\0c\"}", 12))), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"({"a": "b\u0000c"})")), "invalid_json");
  ExpectError(ParseFields(Body(kJson, R"({"a\u0000": "b"})")), "invalid_json");
}

BOOST_AUTO_TEST_CASE(form_decoding) {
  auto r = ParseFields(Body(kForm, "username=ram+bahadur&password=p%40ss%2Bword&phone=&x"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value().at("username") == "ram bahadur");
  BOOST_TEST(r.value().at("password") == "p@ss+word");
  BOOST_TEST(r.value().at("phone") == "");
  BOOST_TEST(r.value().at("x") == "");
  auto unicode = ParseFields(
      Body(kForm + std::string("; charset=UTF-8"), "first_name=%E0%A4%B0%E0%A4%BE%E0%A4%AE&&"));
  BOOST_REQUIRE(unicode.ok());
  BOOST_TEST(unicode.value().at("first_name") == "राम");
}

BOOST_AUTO_TEST_CASE(form_bad_escapes) {
  ExpectError(ParseFields(Body(kForm, "otp=12%3")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "otp=%zz")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "otp=%")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "o%tp=1")), "invalid_field");
}

BOOST_AUTO_TEST_CASE(form_invalid_text) {
  ExpectError(ParseFields(Body(kForm, "otp=%00")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "otp=%C0%AF")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "otp=\xff")), "invalid_field", "otp");
  ExpectError(ParseFields(Body(kForm, "otp=1&otp=2")), "invalid_field", "otp");
}

BOOST_AUTO_TEST_CASE(empty_body_is_no_fields_whatever_the_type) {
  for (const char* type : {"", kJson, kForm, "text/plain", "multipart/form-data; boundary=x"}) {
    auto r = ParseFields(Body(type, ""));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r.value().empty());
  }
}

BOOST_AUTO_TEST_CASE(other_types_are_415) {
  ExpectError(ParseFields(Body("text/plain", "phone=1")), "unsupported_media_type");
  ExpectError(ParseFields(Body("", "phone=1")), "unsupported_media_type");
  ExpectError(ParseFields(Body("multipart/form-data; boundary=x", "--x")),
              "unsupported_media_type");
  ExpectError(ParseFields(Body("application/jsonx", "{}")), "unsupported_media_type");
  auto r = ParseFields(Body("text/plain", "x"));
  BOOST_TEST(static_cast<int>(r.error().kind) ==
             static_cast<int>(util::ErrorKind::kUnsupportedMedia));
}

BOOST_AUTO_TEST_CASE(too_large_body_is_413) {
  Request request = Body(kJson, "");
  request.body_state = BodyState::kTooLarge;
  auto r = ParseFields(request);
  ExpectError(r, "body_too_large");
  BOOST_TEST(static_cast<int>(r.error().kind) == static_cast<int>(util::ErrorKind::kTooLarge));
}

BOOST_AUTO_TEST_CASE(query_parsing) {
  auto r = ParseQuery("phone=%2B977-984-123-4567&x=a+b");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value().at("phone") == "+977-984-123-4567");
  BOOST_TEST(r.value().at("x") == "a b");
  BOOST_TEST(ParseQuery("").value().empty());
  ExpectError(ParseQuery("phone=%G1"), "invalid_field", "phone");
  ExpectError(ParseQuery("phone=1&phone=2"), "invalid_field", "phone");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::http
