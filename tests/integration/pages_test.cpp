// The HTML pages (contract section 5) through real nginx, phoneverify-fcgi, MariaDB and
// the dispatcher, driven like a browser: form posts and a cookie jar, codes read from the
// fake Sparrow as the phone's owner would.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "api_helpers.h"
#include "fault_helpers.h"
#include "domain/sms_text.h"
#include "form_client.h"
#include "stack.h"

namespace phoneverify::itest {
namespace {

const char kPassword[] = "a long passphrase";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Masked(const std::string& phone) {
  return phone.substr(0, 2) + "******" + phone.substr(8);
}

struct PageUser {
  std::string username;
  std::string phone;
};

// Signs up through the page (303 -> /verify) and returns who.
PageUser SignUpPage(FormClient& browser, const std::string& phone_prefix = "984") {
  PageUser user{UniqueName("web"), UniquePhone(phone_prefix)};
  HttpResponse r = browser.Submit(
      "/signup", "/signup",
      {{"username", user.username}, {"password", kPassword}, {"phone", user.phone}});
  BOOST_REQUIRE_EQUAL(r.status, 303);
  BOOST_REQUIRE_EQUAL(r.Header("location"), "/verify");
  return user;
}

// Reads the code from the fake gateway and posts it: 303 -> /account.
void VerifyPage(FormClient& browser, const PageUser& user, size_t sms_number = 1) {
  const std::string code = WaitForCode(user.phone, sms_number);
  BOOST_REQUIRE_MESSAGE(!code.empty(), "no SMS reached the fake gateway");
  HttpResponse r = browser.Submit("/verify", "/verify", {{"otp", code}});
  BOOST_REQUIRE_EQUAL(r.status, 303);
  BOOST_REQUIRE_EQUAL(r.Header("location"), "/account");
}

void SleepSeconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
}

BOOST_AUTO_TEST_SUITE(pages)

BOOST_AUTO_TEST_CASE(signup_verify_account_logout_follow_the_contract) {
  FormClient browser(Stack::Get().port());
  HttpResponse form = browser.Get("/signup");
  BOOST_TEST(form.status == 200);
  BOOST_TEST(form.Header("content-type") == "text/html; charset=utf-8");
  BOOST_TEST(!CsrfTokenIn(form.body).empty());
  BOOST_TEST(Contains(form.Header("set-cookie"), "HttpOnly"));
  BOOST_TEST(Contains(form.Header("set-cookie"), "SameSite=Lax"));

  const PageUser user = SignUpPage(browser);
  HttpResponse verify = browser.Get("/verify");
  BOOST_TEST(verify.status == 200);
  BOOST_TEST(Contains(verify.body, Masked(user.phone)));
  BOOST_TEST(!Contains(verify.body, user.phone));
  BOOST_TEST(Contains(verify.body, "autocomplete=\"one-time-code\""));
  BOOST_TEST(browser.Get("/auth/check").status == 403);
  BOOST_TEST(browser.Get("/account").Header("location") == "/verify");

  HttpResponse wrong = browser.Submit("/verify", "/verify", {{"otp", "00000"}});
  BOOST_TEST(wrong.status == 400);
  VerifyPage(browser, user);

  HttpResponse account = browser.Get("/account");
  BOOST_TEST(account.status == 200);
  BOOST_TEST(Contains(account.body, user.username));
  BOOST_TEST(browser.Get("/auth/check").status == 204);
  BOOST_TEST(browser.Get("/verify").Header("location") == "/account");

  HttpResponse out = browser.Submit("/account", "/logout", {});
  BOOST_TEST(out.status == 303);
  BOOST_TEST(out.Header("location") == "/login");
  BOOST_TEST(browser.Get("/account").Header("location") == "/login");
  BOOST_TEST(browser.Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_CASE(login_goes_to_verify_or_account_and_fails_without_telling_why) {
  FormClient browser(Stack::Get().port());
  const PageUser unverified = SignUpPage(browser);
  browser.ClearCookies();
  HttpResponse r = browser.Submit("/login", "/login",
                                  {{"username", unverified.username}, {"password", kPassword}});
  BOOST_TEST(r.status == 303);
  BOOST_TEST(r.Header("location") == "/verify");
  VerifyPage(browser, unverified);
  browser.ClearCookies();
  r = browser.Submit("/login", "/login",
                     {{"username", unverified.username}, {"password", kPassword}});
  BOOST_TEST(r.Header("location") == "/account");

  browser.ClearCookies();
  HttpResponse bad_password = browser.Submit(
      "/login", "/login", {{"username", unverified.username}, {"password", "not the one"}});
  HttpResponse no_such_user = browser.Submit(
      "/login", "/login", {{"username", UniqueName("ghost")}, {"password", "not the one"}});
  BOOST_TEST(bad_password.status == 400);
  BOOST_TEST(no_such_user.status == 400);
  BOOST_TEST(Contains(bad_password.body, "Wrong username or password."));
  BOOST_TEST(Contains(no_such_user.body, "Wrong username or password."));
  BOOST_TEST(Contains(bad_password.body, "value=\"" + unverified.username + "\""));
  BOOST_TEST(!Contains(bad_password.body, "not the one"));
}

BOOST_AUTO_TEST_CASE(login_rotates_the_session_cookie_so_a_planted_id_is_worthless) {
  FormClient browser(Stack::Get().port());
  const PageUser user = SignUpPage(browser);
  browser.Submit("/verify", "/logout", {});
  // An attacker who planted a well-formed id in the victim's browser before sign-in...
  const std::string planted = std::string(32, 'a') + std::string(32, 'b');
  FormClient victim(Stack::Get().port());
  victim.SetCookie("pv_session", planted);
  HttpResponse r = victim.Submit("/login", "/login",
                                 {{"username", user.username}, {"password", kPassword}});
  BOOST_TEST(r.status == 303);
  BOOST_TEST(victim.Cookie("pv_session") != planted);
  BOOST_TEST(victim.Get("/auth/check").status == 403);  // the victim is signed in...
  FormClient attacker(Stack::Get().port());
  attacker.SetCookie("pv_session", planted);
  BOOST_TEST(attacker.Get("/auth/check").status == 401);  // ...the attacker is not
}

BOOST_AUTO_TEST_CASE(every_post_needs_the_csrf_token_of_this_browser) {
  FormClient browser(Stack::Get().port());
  SignUpPage(browser);
  FormClient other(Stack::Get().port());
  const std::string foreign_token = CsrfTokenIn(other.Get("/login").body);
  BOOST_REQUIRE(!foreign_token.empty());
  for (const char* path : {"/signup", "/login", "/verify", "/verify/resend", "/logout"}) {
    const FormFields fields = {{"username", "x"}, {"password", "y"}, {"otp", "123456"}};
    HttpResponse none = browser.Post(path, fields);
    BOOST_TEST(none.status == 403, path);
    BOOST_TEST(none.Header("content-type") == "text/html; charset=utf-8", path);
    FormFields wrong = fields;
    wrong["csrf_token"] = std::string(64, '0');
    BOOST_TEST(browser.Post(path, wrong).status == 403, path);
    FormFields foreign = fields;
    foreign["csrf_token"] = foreign_token;
    BOOST_TEST(browser.Post(path, foreign).status == 403, path);
  }
  // Nothing was done: still signed in, still unverified.
  BOOST_TEST(browser.Get("/auth/check").status == 403);
  FormClient cookieless(Stack::Get().port());
  BOOST_TEST(cookieless.Post("/login", {{"csrf_token", foreign_token}}).status == 403);
}

BOOST_AUTO_TEST_CASE(hostile_input_is_escaped_in_the_rerendered_form) {
  FormClient browser(Stack::Get().port());
  const std::string script = "\"><script>alert(document.cookie)</script>";
  HttpResponse r = browser.Submit(
      "/signup", "/signup",
      {{"username", script}, {"password", kPassword}, {"phone", script}, {"email", script}});
  BOOST_TEST(r.status == 400);
  BOOST_TEST(!Contains(r.body, "<script>"));
  BOOST_TEST(!Contains(r.body, "\"><"));
  BOOST_TEST(Contains(r.body, "&lt;script&gt;"));
  BOOST_TEST(Contains(r.Header("content-security-policy"), "default-src 'none'"));
  HttpResponse login = browser.Submit("/login", "/login",
                                      {{"username", "<img src=x onerror=alert(1)>"},
                                       {"password", "whatever1"}});
  BOOST_TEST(login.status == 400);
  BOOST_TEST(!Contains(login.body, "<img"));
}

BOOST_AUTO_TEST_CASE(form_errors_name_each_field_and_keep_the_input) {
  FormClient browser(Stack::Get().port());
  HttpResponse r = browser.Submit(
      "/signup", "/signup",
      {{"username", UniqueName("keep")}, {"password", "12345678"}, {"phone", "123"},
       {"email", "someone@example.com"}});
  BOOST_TEST(r.status == 400);
  BOOST_TEST(Contains(r.body, "id=\"password-error\""));
  BOOST_TEST(Contains(r.body, "value=\"someone@example.com\""));
  BOOST_TEST(Contains(r.body, "value=\"123\""));
  BOOST_TEST(!Contains(r.body, "12345678"));
  HttpResponse empty = browser.Submit("/signup", "/signup", {});
  BOOST_TEST(empty.status == 400);
  for (const char* field : {"username", "password", "phone"}) {
    BOOST_TEST(Contains(empty.body, std::string("id=\"") + field + "-error\""), field);
  }
}

BOOST_AUTO_TEST_CASE(a_taken_username_rerenders_the_form) {
  FormClient first(Stack::Get().port());
  const PageUser user = SignUpPage(first);
  FormClient second(Stack::Get().port());
  HttpResponse r = second.Submit(
      "/signup", "/signup",
      {{"username", user.username}, {"password", kPassword}, {"phone", UniquePhone()}});
  BOOST_TEST(r.status == 400);
  BOOST_TEST(Contains(r.body, "That username is taken."));
  BOOST_TEST(second.Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_CASE(too_many_failed_logins_answer_429_with_retry_after) {
  FormClient browser(Stack::Get().port());
  const std::string name = UniqueName("throttled");
  HttpResponse r;
  for (int i = 0; i < 11; ++i) {
    r = browser.Submit("/login", "/login", {{"username", name}, {"password", "wrong pass"}});
    if (r.status == 429) break;
    BOOST_TEST_REQUIRE(r.status == 400);
  }
  BOOST_TEST(r.status == 429);
  BOOST_TEST(!r.Header("retry-after").empty());
  BOOST_TEST(Contains(r.body, "Too many attempts"));
  BOOST_TEST(Contains(r.body, "name=\"username\""));  // the form, not a bare error
}

// The login page goes through the same limits as the API (issue 15): a client over
// login_max_failures_per_ip gets the form back with 429, the right password included.
BOOST_AUTO_TEST_CASE(a_client_over_its_failed_login_limit_gets_429_even_when_right) {
  FormClient first(Stack::Get().port());
  const PageUser user = SignUpPage(first);
  ScopedAppConfig config(Overrides{{"login_max_failures_per_ip", "2"}});
  struct ForgetLoopbackFailures {
    ~ForgetLoopbackFailures() {
      auto admin = AdminConnection();
      static_cast<void>(admin->Exec(
          "DELETE FROM limit_events WHERE scope = 'login_ip' AND key_ = '127.0.0.1'", {}));
    }
  } forget;
  FormClient browser(Stack::Get().port());
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = browser.Submit(
        "/login", "/login", {{"username", UniqueName("spray")}, {"password", "wrong pass"}});
    BOOST_TEST(r.status == 400);
  }
  HttpResponse r = browser.Submit("/login", "/login",
                                  {{"username", user.username}, {"password", kPassword}});
  BOOST_TEST(r.status == 429);
  BOOST_TEST(!r.Header("retry-after").empty());
  BOOST_TEST(Contains(r.body, "Too many attempts"));
  BOOST_TEST(browser.Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_CASE(signed_out_visitors_are_sent_to_login) {
  FormClient browser(Stack::Get().port());
  BOOST_TEST(browser.Get("/account").Header("location") == "/login");
  BOOST_TEST(browser.Get("/verify").Header("location") == "/login");
  BOOST_TEST(browser.Get("/auth/check").status == 401);
  BOOST_TEST(browser.Get("/login").status == 200);
}

BOOST_AUTO_TEST_CASE(auth_check_accepts_api_tokens_too) {
  const HttpClient api = Stack::Get().Client();
  TestUser user = NewUser(api);
  HttpResponse unverified = api.Get("/auth/check", user.token);
  BOOST_TEST(unverified.status == 403);
  const std::string phone = UniquePhone("985");
  const std::string code = SendAndReceive(api, user, phone);
  Json::Value body;
  body["phone"] = phone;
  body["otp"] = code;
  BOOST_REQUIRE_EQUAL(api.PostJson("/api/v1/phone/verify-otp", body, user.token).status, 200);
  HttpResponse verified = api.Get("/auth/check", user.token);
  BOOST_TEST(verified.status == 204);
  BOOST_TEST(verified.Header("x-phoneverify-user") == user.username);
  BOOST_TEST(api.Get("/auth/check", std::string(64, 'a')).status == 401);
  BOOST_TEST(api.Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_CASE(an_api_account_without_a_phone_adds_one_on_the_verify_page) {
  const HttpClient api = Stack::Get().Client();
  TestUser user = NewUser(api);
  FormClient browser(Stack::Get().port());
  HttpResponse login =
      browser.Submit("/login", "/login", {{"username", user.username}, {"password", user.password}});
  BOOST_TEST(login.Header("location") == "/verify");
  HttpResponse page = browser.Get("/verify");
  BOOST_TEST(Contains(page.body, "Add your mobile number"));
  const std::string phone = UniquePhone("986");
  HttpResponse sent = browser.Submit("/verify", "/verify/resend", {{"phone", phone}});
  BOOST_TEST(sent.status == 303);
  BOOST_TEST(Contains(browser.Get("/verify").body, Masked(phone)));
  VerifyPage(browser, PageUser{user.username, phone});
}

BOOST_AUTO_TEST_CASE(the_stylesheet_is_served_by_nginx) {
  FormClient browser(Stack::Get().port());
  HttpResponse css = browser.Get("/static/style.css");
  BOOST_TEST(css.status == 200);
  BOOST_TEST(Contains(css.Header("content-type"), "text/css"));
  BOOST_TEST(css.Header("x-request-id").empty());  // straight from disk, not the app
  BOOST_TEST(Contains(css.body, ".card"));
}

BOOST_AUTO_TEST_CASE(nepali_pages_and_nepali_sms) {
  FormClient browser(Stack::Get().port());
  const std::vector<std::string> nepali = {"Accept-Language: ne-NP,ne;q=0.9,en;q=0.4"};
  HttpResponse form = browser.Get("/signup", nepali);
  BOOST_TEST(Contains(form.body, "<html lang=\"ne\">"));
  BOOST_TEST(Contains(form.body, "आफ्नो खाता खोल्नुहोस्"));
  PageUser user{UniqueName("ne"), UniquePhone("980")};
  HttpResponse r = browser.Post("/signup", {{"username", user.username},
                                            {"password", kPassword},
                                            {"phone", user.phone},
                                            {"csrf_token", CsrfTokenIn(form.body)}},
                                nepali);
  BOOST_REQUIRE_EQUAL(r.status, 303);
  const std::string code = WaitForCode(user.phone, 1);
  BOOST_REQUIRE(!code.empty());
  std::string text;
  for (const auto& sms : Stack::Get().Sparrow().Requests()) {
    if (sms.to == user.phone) text = sms.text;
  }
  BOOST_TEST(Contains(text, "phoneverify कोड: " + code), text);
  const domain::SmsSize size = domain::MeasureSms(text);
  BOOST_TEST(!size.gsm7);
  BOOST_TEST(size.units <= 70u);
  HttpResponse verify = browser.Get("/verify", nepali);
  BOOST_TEST(Contains(verify.body, "फोन नम्बर प्रमाणित गर्नुहोस्"));
  BOOST_TEST(Contains(verify.body, Masked(user.phone)));
  // An explicit choice beats Accept-Language, and sticks.
  BOOST_TEST(Contains(browser.Get("/verify?lang=en", nepali).body, "<html lang=\"en\">"));
  BOOST_TEST(browser.Cookie("pv_lang") == "en");
  BOOST_TEST(Contains(browser.Get("/verify", nepali).body, "<html lang=\"en\">"));
}

BOOST_AUTO_TEST_CASE(a_nepali_keyboard_signs_up_and_verifies_in_devanagari_digits) {
  FormClient browser(Stack::Get().port());
  const std::vector<std::string> nepali = {"Accept-Language: ne-NP,ne;q=0.9"};
  PageUser user{UniqueName("ne_digits"), UniquePhone("985")};
  HttpResponse form = browser.Get("/signup", nepali);
  HttpResponse r = browser.Post("/signup", {{"username", user.username},
                                            {"password", kPassword},
                                            {"phone", InDevanagari(user.phone)},
                                            {"csrf_token", CsrfTokenIn(form.body)}},
                                nepali);
  BOOST_REQUIRE_EQUAL(r.status, 303);
  BOOST_REQUIRE_EQUAL(r.Header("location"), "/verify");
  const std::string code = WaitForCode(user.phone, 1);  // sent to the ASCII number
  BOOST_REQUIRE(!code.empty());
  HttpResponse page = browser.Get("/verify", nepali);
  BOOST_TEST(Contains(page.body, Masked(user.phone)));
  BOOST_TEST(Contains(page.body, "pattern=\"[0-9०-९]*\""));  // the browser lets ०–९ through
  HttpResponse ok = browser.Submit("/verify", "/verify", {{"otp", InDevanagari(code)}});
  BOOST_REQUIRE_EQUAL(ok.status, 303);
  BOOST_TEST(ok.Header("location") == "/account");
  BOOST_TEST(browser.Get("/account").status == 200);
}

BOOST_AUTO_TEST_CASE(the_members_location_is_behind_the_wall) {
  FormClient browser(Stack::Get().port());
  HttpResponse signed_out = browser.Get("/members/");
  BOOST_TEST(signed_out.status == 303);
  BOOST_TEST(signed_out.Header("location") == "/login?next=/members/");
  const PageUser user = SignUpPage(browser);
  HttpResponse unverified = browser.Get("/members/");
  BOOST_TEST(unverified.status == 303);
  BOOST_TEST(unverified.Header("location") == "/verify?next=/members/");
  VerifyPage(browser, user);
  HttpResponse member = browser.Get("/members/");
  BOOST_TEST(member.status == 200);
  BOOST_TEST(Contains(member.body, "You are through the wall"));
  BOOST_TEST(member.Header("x-phoneverify-user") == user.username);

  // Signing in from the wall's redirect lands back on the protected page.
  browser.Submit("/account", "/logout", {});
  HttpResponse back = browser.Submit("/login?next=/members/", "/login",
                                     {{"username", user.username}, {"password", kPassword}});
  BOOST_TEST(back.Header("location") == "/members/");
  BOOST_TEST(browser.Get("/members/").status == 200);
}

BOOST_AUTO_TEST_CASE(next_carries_through_signup_and_verification) {
  FormClient browser(Stack::Get().port());
  PageUser user{UniqueName("next"), UniquePhone("981")};
  HttpResponse r = browser.Submit(
      "/signup?next=/members/", "/signup",
      {{"username", user.username}, {"password", kPassword}, {"phone", user.phone}});
  BOOST_TEST(r.Header("location") == "/verify?next=/members/");
  const std::string code = WaitForCode(user.phone, 1);
  HttpResponse done = browser.Submit("/verify?next=/members/", "/verify", {{"otp", code}});
  BOOST_TEST(done.Header("location") == "/members/");
  HttpResponse evil = browser.Get("/login?next=//evil.example/");
  BOOST_TEST(evil.Header("location") == "/account");  // signed in: the unsafe next is dropped
}

// ---- limits: the resend cooldown and a sign-up whose code a limit refused ------------

BOOST_AUTO_TEST_CASE(resend_shows_the_cooldown_and_signup_survives_a_refused_code) {
  ScopedAppConfig config({{"otp_resend_cooldown", "300"}, {"otp_max_sends_per_day", "1"}});
  FormClient browser(Stack::Get().port());
  const PageUser user = SignUpPage(browser);
  HttpResponse page = browser.Get("/verify");
  BOOST_TEST(Contains(page.body, "Send a new code (in "));
  BOOST_TEST(!Contains(page.body, "data-resend-in=\"0\""));

  HttpResponse refused = browser.Submit("/verify", "/verify/resend", {});
  BOOST_TEST(refused.status == 429);
  const int retry_after = std::atoi(refused.Header("retry-after").c_str());
  BOOST_TEST(retry_after > 0);
  BOOST_TEST(retry_after <= 300);
  BOOST_TEST(Contains(refused.body, "A code was sent moments ago"));
  BOOST_TEST(Contains(refused.body, "name=\"otp\""));  // the verify page, cooldown shown

  // A second account for the same phone: the daily limit refuses its code, yet the
  // account exists, is signed in, and /verify says why.
  FormClient second(Stack::Get().port());
  const std::string name = UniqueName("second");
  HttpResponse r = second.Submit("/signup", "/signup",
                                 {{"username", name}, {"password", kPassword}, {"phone", user.phone}});
  BOOST_TEST(r.status == 303);
  BOOST_TEST(r.Header("location") == "/verify");
  HttpResponse why = second.Get("/verify");
  BOOST_TEST(why.status == 200);
  BOOST_TEST(Contains(why.body, "no code could be sent yet"), why.body);
  BOOST_TEST(Contains(why.body, "id=\"warning\""));
  BOOST_TEST(Contains(second.Get("/account").Header("location"), "/verify"));
  BOOST_TEST(!WaitForCode(user.phone, 1).empty());
  BOOST_TEST(SmsCountFor(user.phone) == 1u);  // the first account's code, no second one
}

// ---- session expiry, with short limits -----------------------------------------------

BOOST_AUTO_TEST_CASE(an_idle_session_expires) {
  ScopedAppConfig config({{"session_idle_timeout", "2"}, {"session_max_age", "600"}});
  FormClient browser(Stack::Get().port());
  SignUpPage(browser);
  BOOST_TEST(browser.Get("/auth/check").status == 403);  // signed in
  SleepSeconds(3.5);
  BOOST_TEST(browser.Get("/auth/check").status == 401);
  BOOST_TEST(browser.Get("/verify").Header("location") == "/login");
}

BOOST_AUTO_TEST_CASE(a_session_expires_at_its_absolute_age) {
  ScopedAppConfig config({{"session_idle_timeout", "600"}, {"session_max_age", "3"}});
  FormClient browser(Stack::Get().port());
  SignUpPage(browser);
  BOOST_TEST(browser.Get("/auth/check").status == 403);
  SleepSeconds(1.0);
  BOOST_TEST(browser.Get("/auth/check").status == 403);  // activity does not extend it
  SleepSeconds(3.0);
  BOOST_TEST(browser.Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
