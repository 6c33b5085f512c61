// ErrorKind -> HTTP status and the contract's error body.
#include <json/reader.h>

#include <boost/test/unit_test.hpp>
#include <memory>

#include "http/error_mapping.h"

namespace phoneverify::http {
namespace {

using util::Error;
using util::ErrorKind;

Json::Value ParseBody(const std::string& text) {
  Json::Value value;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  BOOST_REQUIRE(reader->parse(text.data(), text.data() + text.size(), &value, &errors));
  return value;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_error_mapping)

BOOST_AUTO_TEST_CASE(every_kind_has_its_status) {
  struct Case {
    ErrorKind kind;
    int status;
  } cases[] = {
      {ErrorKind::kInvalidInput, 400},
      {ErrorKind::kNotAuthenticated, 401},
      {ErrorKind::kForbidden, 403},
      {ErrorKind::kNotFound, 404},
      {ErrorKind::kMethodNotAllowed, 405},
      {ErrorKind::kConflict, 409},
      {ErrorKind::kGone, 410},
      {ErrorKind::kTooLarge, 413},
      {ErrorKind::kUnsupportedMedia, 415},
      {ErrorKind::kRateLimited, 429},
      {ErrorKind::kInternal, 500},
      {ErrorKind::kUnavailable, 503},
  };
  for (const Case& c : cases) {
    BOOST_TEST(HttpStatus(c.kind) == c.status);
    Response r = ErrorResponse(Error::Make(c.kind, "some_code", "Some details."));
    BOOST_TEST(r.status == c.status);
    BOOST_TEST(ParseBody(r.body)["status"].asInt() == c.status);
  }
}

BOOST_AUTO_TEST_CASE(shape_with_field) {
  Response r = ErrorResponse(
      Error::Make(ErrorKind::kInvalidInput, "invalid_phone", "Only NTC or Ncell.", "phone"));
  BOOST_TEST(*r.FindHeader("Content-Type") == "application/json; charset=utf-8");
  Json::Value body = ParseBody(r.body);
  BOOST_TEST(body.size() == 4u);
  BOOST_TEST(body["status"].asInt() == 400);
  BOOST_TEST(body["code"].asString() == "invalid_phone");
  BOOST_TEST(body["details"].asString() == "Only NTC or Ncell.");
  BOOST_TEST(body["field"].asString() == "phone");
  BOOST_TEST(!r.FindHeader("Retry-After"));
}

BOOST_AUTO_TEST_CASE(shape_without_extras) {
  Json::Value body =
      ParseBody(ErrorResponse(Error::Make(ErrorKind::kConflict, "username_taken", "Taken.")).body);
  BOOST_TEST(body.size() == 3u);
  BOOST_TEST(!body.isMember("field"));
  BOOST_TEST(!body.isMember("retry_after"));
  BOOST_TEST(!body.isMember("attempts_left"));
}

BOOST_AUTO_TEST_CASE(retry_after_on_429_and_503) {
  Error limited = Error::Make(ErrorKind::kRateLimited, "resend_too_soon", "Wait.");
  limited.retry_after = 42;
  Response r = ErrorResponse(limited);
  BOOST_TEST(r.status == 429);
  BOOST_REQUIRE(r.FindHeader("Retry-After"));
  BOOST_TEST(*r.FindHeader("Retry-After") == "42");
  BOOST_TEST(ParseBody(r.body)["retry_after"].asInt() == 42);

  Error budget = Error::Make(ErrorKind::kUnavailable, "sms_budget_exhausted", "Budget.");
  budget.retry_after = 3600;
  Response b = ErrorResponse(budget);
  BOOST_TEST(b.status == 503);
  BOOST_TEST(*b.FindHeader("Retry-After") == "3600");
  Json::Value body = ParseBody(b.body);
  BOOST_TEST(body["code"].asString() == "sms_budget_exhausted");
  BOOST_TEST(body["details"].asString() == "Budget.");

  Error no_retry = Error::Make(ErrorKind::kRateLimited, "too_many_requests", "Slow down.");
  BOOST_TEST(!ErrorResponse(no_retry).FindHeader("Retry-After"));
}

BOOST_AUTO_TEST_CASE(attempts_left_included_even_when_zero) {
  Error wrong = Error::Make(ErrorKind::kInvalidInput, "otp_invalid", "Wrong code.", "otp");
  wrong.attempts_left = 0;
  Json::Value body = ParseBody(ErrorResponse(wrong).body);
  BOOST_TEST(body.isMember("attempts_left"));
  BOOST_TEST(body["attempts_left"].asInt() == 0);
}

BOOST_AUTO_TEST_CASE(internal_errors_leak_nothing) {
  Response r = ErrorResponse(
      Error::Make(ErrorKind::kInternal, "db_error", "Table 'accounts' is full at /var/lib/mysql"));
  BOOST_TEST(r.status == 500);
  BOOST_TEST(r.body.find("accounts") == std::string::npos);
  Json::Value body = ParseBody(r.body);
  BOOST_TEST(body["code"].asString() == "internal_error");
  Response u = ErrorResponse(Error::Make(ErrorKind::kUnavailable, "unavailable", "2002 socket"));
  BOOST_TEST(u.body.find("2002") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_code_gets_a_default) {
  Json::Value body = ParseBody(ErrorResponse(Error::Make(ErrorKind::kNotFound, "", "")).body);
  BOOST_TEST(body["code"].asString() == "not_found");
  BOOST_TEST(!body["details"].asString().empty());
}

BOOST_AUTO_TEST_CASE(unauthenticated_names_the_scheme) {
  Response r =
      ErrorResponse(Error::Make(ErrorKind::kNotAuthenticated, "not_authenticated", "Log in."));
  BOOST_REQUIRE(r.FindHeader("WWW-Authenticate"));
  BOOST_TEST(*r.FindHeader("WWW-Authenticate") == "Token");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::http
