// The HTML pages end to end through http::App over the in-memory repositories, with a
// fake clock and a tiny cookie jar: contract section 5 without a server.
#include "handlers/page_handlers.h"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <map>
#include <string>

#include "domain/account_service.h"
#include "domain/session_service.h"
#include "domain/sms_text.h"
#include "domain/verification_service.h"
#include "fakes/counting_hasher.h"
#include "fakes/memory_repositories.h"
#include "fakes/test_policy.h"
#include "handlers/routes.h"
#include "http/app.h"
#include "http/cookies.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/logger.h"

namespace phoneverify::handlers {
namespace {

std::string FormEncode(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += "&";
    out += name + "=";
    for (unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out.push_back(static_cast<char>(c));
      } else {
        static const char* hex = "0123456789ABCDEF";
        out += {'%', hex[c >> 4], hex[c & 15]};
      }
    }
  }
  return out;
}

// Text between value=" and " of the input named `name` (first match), "" when none.
std::string InputValue(const std::string& html, const std::string& name) {
  const size_t at = html.find("name=\"" + name + "\" value=\"");
  if (at == std::string::npos) return "";
  const size_t start = html.find("value=\"", at) + 7;
  return html.substr(start, html.find('"', start) - start);
}

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{7};
  fakes::MemoryStore store;
  fakes::MemoryAccountRepository accounts{store};
  fakes::MemoryLimitRepository limits{store};
  fakes::MemoryOtpRepository otps{store};
  fakes::MemorySessionRepository session_repo{store};
  fakes::FakeHealth health;
  domain::OtpPolicy policy = fakes::TestOtpPolicy();
  domain::SessionPolicy session_policy{600, 3600, std::string(32, 'c')};
  fakes::CountingPasswordHasher hasher;
  domain::AccountService account_service{accounts, limits, policy, clock, random, hasher};
  domain::VerificationService verification{otps, policy, clock, random};
  domain::SessionService sessions{session_repo, session_policy, clock, random};
  View view = LoadView();
  PageHandlers pages{account_service, verification, sessions, view, clock, policy.otp_length};
  http::Router router{BuildRoutes({account_service, verification, health, &pages})};
  http::ClientRules proxies;
  util::Logger logger{"/dev/null", "test"};
  http::App app{router, proxies, clock, random, logger};

  // The browser: cookies set by responses, sent back with every request.
  std::map<std::string, std::string> jar;
  std::string accept_language;
  bool https = false;
  std::string forwarded_proto;  // X-Forwarded-Proto as a proxy (or the client) sent it

  static View LoadView() {
    auto loaded = View::Load("www/templates", PageHandlers::Templates());
    BOOST_REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().details));
    return loaded.value();
  }

  http::Response Send(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    http::Request request;
    request.method = method;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.remote_addr = "198.51.100.7";
    request.accept_language = accept_language;
    request.https = https;
    request.x_forwarded_proto = forwarded_proto;
    for (const auto& [name, value] : jar) {
      request.cookie += (request.cookie.empty() ? "" : "; ") + name + "=" + value;
    }
    if (!body.empty()) request.content_type = "application/x-www-form-urlencoded";
    request.body = body;
    http::Response response = app.Handle(std::move(request));
    for (const auto& [name, value] : response.headers) {
      if (name != "Set-Cookie") continue;
      const std::string pair = value.substr(0, value.find(';'));
      const std::string cookie = pair.substr(0, pair.find('='));
      if (value.find("Max-Age=0") != std::string::npos) {
        jar.erase(cookie);
      } else {
        jar[cookie] = pair.substr(pair.find('=') + 1);
      }
    }
    return response;
  }
  http::Response Get(const std::string& target) { return Send("GET", target); }
  // Fetches `form_page` for its token, then posts `fields` (plus the token) to `action`.
  http::Response Post(const std::string& action, std::map<std::string, std::string> fields,
                      const std::string& form_page) {
    const http::Response page = Get(form_page);
    fields.emplace("csrf_token", InputValue(page.body, "csrf_token"));
    return Send("POST", action, FormEncode(fields));
  }
  std::string Location(const http::Response& r) {
    const std::string* location = r.FindHeader("Location");
    return location ? *location : "";
  }
  std::string LastSms() { return fakes::LastSmsText(store, policy); }
  std::string LastCode() { return fakes::LastSmsCode(store, policy); }
  http::Response SignUp(const std::string& name, const std::string& phone) {
    return Post("/signup", {{"username", name}, {"password", "correct horse"}, {"phone", phone}},
                "/signup");
  }
  void SignUpAndVerify(const std::string& name, const std::string& phone) {
    BOOST_REQUIRE(Location(SignUp(name, phone)) == "/verify");
    BOOST_REQUIRE(Location(Post("/verify", {{"otp", LastCode()}}, "/verify")) == "/account");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(page_handlers, Fixture)

BOOST_AUTO_TEST_CASE(signup_form_is_html_with_a_token_bound_to_the_new_cookie) {
  http::Response r = Get("/signup");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(*r.FindHeader("Content-Type") == "text/html; charset=utf-8");
  BOOST_TEST(r.FindHeader("Content-Security-Policy")->find("default-src 'none'") !=
             std::string::npos);
  BOOST_REQUIRE(jar.count(kSessionCookie));
  BOOST_TEST(InputValue(r.body, "csrf_token") == sessions.CsrfToken(jar[kSessionCookie]));
  BOOST_TEST(r.body.find("<html lang=\"en\">") != std::string::npos);
  BOOST_TEST(store.sessions.empty());  // a visitor costs no row
}

BOOST_AUTO_TEST_CASE(signup_creates_signs_in_sends_and_redirects_to_verify) {
  http::Response r = SignUp("ram", "984-1234567");
  BOOST_TEST(r.status == 303);
  BOOST_TEST(Location(r) == "/verify");
  BOOST_TEST(store.accounts.size() == 1u);
  BOOST_TEST(store.sessions.size() == 1u);
  BOOST_TEST(LastSms().find("phoneverify code: ") == 0u);
  BOOST_TEST(store.outbox.back().phone == "9841234567");
  bool has_max_age = false;
  for (const auto& [name, value] : r.headers) {
    if (name == "Set-Cookie" && value.rfind("pv_session=", 0) == 0) {
      has_max_age = value.find("Max-Age=3600") != std::string::npos;
      BOOST_TEST(value.find("HttpOnly") != std::string::npos);
      BOOST_TEST(value.find("SameSite=Lax") != std::string::npos);
      BOOST_TEST(value.find("Secure") == std::string::npos);  // not over https
    }
  }
  BOOST_TEST(has_max_age);
}

BOOST_AUTO_TEST_CASE(the_full_flow_reaches_the_account_page) {
  SignUpAndVerify("sita", "9801234567");
  http::Response account = Get("/account");
  BOOST_TEST(account.status == 200);
  BOOST_TEST(account.body.find("sita") != std::string::npos);
  BOOST_TEST(account.body.find("98******67") != std::string::npos);
  BOOST_TEST(account.body.find("9801234567") == std::string::npos);
  BOOST_TEST(Get("/auth/check").status == 204);
}

BOOST_AUTO_TEST_CASE(verify_shows_the_phone_masked_and_the_code_field) {
  SignUp("hari", "9851234567");
  http::Response r = Get("/verify");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find("98******67") != std::string::npos);
  BOOST_TEST(r.body.find("9851234567") == std::string::npos);
  BOOST_TEST(r.body.find("autocomplete=\"one-time-code\"") != std::string::npos);
  BOOST_TEST(r.body.find("inputmode=\"numeric\"") != std::string::npos);
  BOOST_TEST(r.body.find("data-resend-in=\"60\"") != std::string::npos);
  BOOST_TEST(r.body.find("Send a new code (in 1 minute)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(posts_without_a_valid_token_are_forbidden) {
  SignUp("gita", "9841111111");
  for (const char* path : {"/signup", "/login", "/verify", "/verify/resend", "/logout"}) {
    http::Response none = Send("POST", path, "otp=123456&username=a&password=b");
    BOOST_TEST(none.status == 403, path);
    BOOST_TEST(none.body.find("form") != std::string::npos);
    http::Response wrong = Send("POST", path, "csrf_token=" + std::string(64, 'a'));
    BOOST_TEST(wrong.status == 403, path);
  }
  BOOST_TEST(Location(Get("/account")) == "/verify");  // still signed in: logout was refused
  jar.clear();
  http::Response no_cookie = Send("POST", "/login", "username=a&password=b");
  BOOST_TEST(no_cookie.status == 403);
}

BOOST_AUTO_TEST_CASE(a_token_from_another_browser_is_refused) {
  const std::string other_token = InputValue(Get("/login").body, "csrf_token");
  jar.clear();
  Get("/login");
  http::Response r = Send("POST", "/login", "username=x&password=y&csrf_token=" + other_token);
  BOOST_TEST(r.status == 403);
}

BOOST_AUTO_TEST_CASE(form_errors_rerender_with_400_keeping_input_but_not_the_password) {
  http::Response r = Post("/signup",
                          {{"username", "bad name"}, {"password", "s3cret-passw0rd"},
                           {"phone", "9841234567"}, {"email", "x@example.com"}},
                          "/signup");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("value=\"bad name\"") != std::string::npos);
  BOOST_TEST(r.body.find("value=\"x@example.com\"") != std::string::npos);
  BOOST_TEST(r.body.find("s3cret-passw0rd") == std::string::npos);
  BOOST_TEST(r.body.find("id=\"username-error\"") != std::string::npos);
  BOOST_TEST(store.accounts.empty());
}

BOOST_AUTO_TEST_CASE(every_invalid_field_is_named_at_once) {
  http::Response r = Post("/signup",
                          {{"username", "bad name"}, {"password", "1234"}, {"phone", "12345"},
                           {"email", "not-an-email"}},
                          "/signup");
  BOOST_TEST(r.status == 400);
  for (const char* field : {"username", "password", "phone", "email"}) {
    BOOST_TEST(r.body.find(std::string("id=\"") + field + "-error\"") != std::string::npos, field);
  }
}

BOOST_AUTO_TEST_CASE(every_missing_field_is_named_at_once) {
  http::Response r = Post("/signup", {{"email", ""}}, "/signup");
  BOOST_TEST(r.status == 400);
  for (const char* field : {"username", "password", "phone"}) {
    BOOST_TEST(r.body.find(std::string("id=\"") + field + "-error\"") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(hostile_input_comes_back_escaped) {
  const std::string hostile = "\"><script>alert(1)</script>";
  http::Response r = Post("/signup",
                          {{"username", hostile}, {"password", "pw"}, {"phone", hostile},
                           {"email", hostile}},
                          "/signup");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("<script>") == std::string::npos);
  BOOST_TEST(r.body.find("&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2F;script&gt;") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(login_failures_do_not_say_which_part_was_wrong) {
  SignUp("mohan", "9841222222");
  jar.clear();
  http::Response wrong_password =
      Post("/login", {{"username", "mohan"}, {"password", "wrong password"}}, "/login");
  http::Response unknown_user =
      Post("/login", {{"username", "nobody"}, {"password", "wrong password"}}, "/login");
  BOOST_TEST(wrong_password.status == 400);
  BOOST_TEST(unknown_user.status == 400);
  const std::string message = "Wrong username or password.";
  BOOST_TEST(wrong_password.body.find(message) != std::string::npos);
  BOOST_TEST(unknown_user.body.find(message) != std::string::npos);
  BOOST_TEST(wrong_password.body.find("username-error") == std::string::npos);
  BOOST_TEST(wrong_password.body.find("wrong password") == std::string::npos);
}

// The pages go through the same limits as the API: refused before any password work.
BOOST_AUTO_TEST_CASE(login_page_refuses_even_the_right_password_while_the_client_is_over) {
  policy.login_max_failures_per_ip = 2;
  SignUp("sunita", "9841234321");
  jar.clear();
  for (const char* name : {"ghost1", "ghost2"}) {
    BOOST_TEST(Post("/login", {{"username", name}, {"password", "wrong password"}}, "/login")
                   .status == 400);
  }
  const int before = hasher.Calls();
  http::Response r =
      Post("/login", {{"username", "sunita"}, {"password", "correct horse"}}, "/login");
  BOOST_TEST(r.status == 429);
  BOOST_REQUIRE(r.FindHeader("Retry-After"));
  BOOST_TEST(*r.FindHeader("Retry-After") == "900");
  BOOST_TEST(hasher.Calls() == before);
}

BOOST_AUTO_TEST_CASE(signup_page_refused_by_the_client_limit_hashes_nothing) {
  policy.ip_max_signups_per_hour = 1;
  SignUp("first_one", "9841234322");
  jar.clear();
  const int before = hasher.Calls();
  http::Response r = SignUp("second_one", "9841234323");
  BOOST_TEST(r.status == 429);
  BOOST_TEST(r.FindHeader("Retry-After") != nullptr);
  BOOST_TEST(hasher.Calls() == before);
  BOOST_TEST(store.accounts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(login_rotates_the_session_id_and_routes_by_verification) {
  SignUp("nabin", "9841333333");
  const std::string signup_id = jar[kSessionCookie];
  Post("/logout", {}, "/verify");
  const std::string visitor_id = jar[kSessionCookie];
  BOOST_TEST(visitor_id != signup_id);
  http::Response r = Post("/login", {{"username", "nabin"}, {"password", "correct horse"}}, "/login");
  BOOST_TEST(r.status == 303);
  BOOST_TEST(Location(r) == "/verify");
  BOOST_TEST(jar[kSessionCookie] != visitor_id);
  BOOST_TEST(Get("/account").status == 303);
  BOOST_TEST(Location(Get("/account")) == "/verify");
}

BOOST_AUTO_TEST_CASE(login_of_a_verified_user_goes_to_account_or_next) {
  SignUpAndVerify("sunita", "9841444444");
  Post("/logout", {}, "/account");
  http::Response plain =
      Post("/login", {{"username", "sunita"}, {"password", "correct horse"}}, "/login");
  BOOST_TEST(Location(plain) == "/account");
  Post("/logout", {}, "/account");
  http::Response onward = Post(
      "/login", {{"username", "sunita"}, {"password", "correct horse"}, {"next", "/members/x"}},
      "/login?next=/members/x");
  BOOST_TEST(Location(onward) == "/members/x");
  Post("/logout", {}, "/account");
  http::Response evil = Post(
      "/login", {{"username", "sunita"}, {"password", "correct horse"}, {"next", "//evil.example/"}},
      "/login");
  BOOST_TEST(Location(evil) == "/account");
}

BOOST_AUTO_TEST_CASE(signed_out_pages_redirect_to_login) {
  BOOST_TEST(Location(Get("/account")) == "/login");
  BOOST_TEST(Location(Get("/verify")) == "/login");
  BOOST_TEST(Get("/auth/check").status == 401);
}

BOOST_AUTO_TEST_CASE(wrong_codes_count_down_and_keep_the_input) {
  SignUp("bina", "9841555555");
  http::Response r = Post("/verify", {{"otp", "000000"}}, "/verify");
  if (LastCode() == "000000") return;  // the seeded code happens to match: nothing to test
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("Tries left: 4") != std::string::npos);
  BOOST_TEST(r.body.find("value=\"000000\"") != std::string::npos);
  http::Response format = Post("/verify", {{"otp", "12"}}, "/verify");
  BOOST_TEST(format.status == 400);
  BOOST_TEST(format.body.find("6-digit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(codes_typed_with_spaces_still_work) {
  SignUp("kiran", "9841666666");
  const std::string code = LastCode();
  http::Response r =
      Post("/verify", {{"otp", code.substr(0, 3) + " " + code.substr(3)}}, "/verify");
  BOOST_TEST(Location(r) == "/account");
}

BOOST_AUTO_TEST_CASE(resend_inside_the_cooldown_is_429_with_retry_after) {
  SignUp("asha", "9841777777");
  clock.Advance(15);
  http::Response r = Post("/verify/resend", {}, "/verify");
  BOOST_TEST(r.status == 429);
  BOOST_REQUIRE(r.FindHeader("Retry-After"));
  BOOST_TEST(*r.FindHeader("Retry-After") == "45");
  BOOST_TEST(r.body.find("45 seconds") != std::string::npos);
  BOOST_TEST(r.body.find("data-resend-in=\"45\"") != std::string::npos);
  clock.Advance(45);
  http::Response again = Post("/verify/resend", {}, "/verify");
  BOOST_TEST(Location(again) == "/verify");
  http::Response shown = Get("/verify");
  BOOST_TEST(shown.body.find("A new code is on its way to 98******77.") != std::string::npos);
  BOOST_TEST(Get("/verify").body.find("on its way") == std::string::npos);  // one-shot
}

BOOST_AUTO_TEST_CASE(resend_to_a_corrected_number) {
  SignUp("dipak", "9841888888");
  clock.Advance(120);
  http::Response bad = Post("/verify/resend", {{"phone", "12345"}}, "/verify");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("id=\"phone-error\"") != std::string::npos);
  BOOST_TEST(bad.body.find("value=\"12345\"") != std::string::npos);
  http::Response good = Post("/verify/resend", {{"phone", "9811234567"}}, "/verify");
  BOOST_TEST(Location(good) == "/verify");
  BOOST_TEST(store.outbox.back().phone == "9811234567");
  BOOST_TEST(Get("/verify").body.find("98******67") != std::string::npos);
  BOOST_TEST(Location(Post("/verify", {{"otp", LastCode()}}, "/verify")) == "/account");
}

BOOST_AUTO_TEST_CASE(signup_refused_a_code_still_creates_the_account_and_says_why) {
  policy.otp_max_sends_per_day = 1;
  SignUp("first", "9841999999");
  clock.Advance(61);  // past the resend cooldown: the daily limit is what refuses
  jar.clear();
  http::Response r = SignUp("second", "9841999999");
  BOOST_TEST(Location(r) == "/verify");
  BOOST_TEST(store.accounts.size() == 2u);
  http::Response page = Get("/verify");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("no code could be sent yet") != std::string::npos, page.body);
  BOOST_TEST(page.body.find("Too many codes were asked for") != std::string::npos);
  BOOST_TEST(page.body.find("No code has been sent to 98******99 yet.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sessions_expire_when_idle_and_at_the_absolute_limit) {
  SignUpAndVerify("idle", "9821234567");
  clock.Advance(599);
  BOOST_TEST(Get("/account").status == 200);
  clock.Advance(600);
  BOOST_TEST(Location(Get("/account")) == "/login");
  BOOST_TEST(Get("/auth/check").status == 401);

  Post("/login", {{"username", "idle"}, {"password", "correct horse"}}, "/login");
  for (int i = 0; i < 7; ++i) {
    clock.Advance(500);
    BOOST_TEST_REQUIRE(Get("/account").status == 200);
  }
  clock.Advance(100);  // 3600 s after sign-in
  BOOST_TEST(Location(Get("/account")) == "/login");
}

BOOST_AUTO_TEST_CASE(auth_check_answers_for_cookie_and_token) {
  SignUp("tika", "9821111111");
  BOOST_TEST(Get("/auth/check").status == 403);
  BOOST_TEST(Post("/verify", {{"otp", LastCode()}}, "/verify").status == 303);
  http::Response ok = Get("/auth/check");
  BOOST_TEST(ok.status == 204);
  BOOST_TEST(*ok.FindHeader("X-Phoneverify-User") == "tika");
  BOOST_TEST(ok.body.empty());

  jar.clear();
  auto token = account_service.Login("tika", "correct horse", "127.0.0.1");
  BOOST_REQUIRE(token.ok());
  http::Request with_token;
  with_token.method = "GET";
  with_token.path = "/auth/check";
  with_token.authorization = "Token " + token.value();
  BOOST_TEST(app.Handle(with_token).status == 204);
  with_token.authorization = "Token " + std::string(64, 'f');
  BOOST_TEST(app.Handle(with_token).status == 401);
}

BOOST_AUTO_TEST_CASE(cookies_are_secure_over_https) {
  https = true;
  http::Response r = Get("/login");
  const std::string* cookie = r.FindHeader("Set-Cookie");
  BOOST_REQUIRE(cookie);
  BOOST_TEST(cookie->find("; Secure") != std::string::npos);
  BOOST_TEST(cookie->find("HttpOnly") != std::string::npos);
}

// Behind a TLS-terminating proxy the web server sees plain http.
BOOST_AUTO_TEST_CASE(a_trusted_proxys_forwarded_proto_makes_cookies_secure) {
  auto secure = [this] {
    jar.clear();  // a new visitor each time: the session cookie is set afresh
    const http::Response page = Get("/login");
    const std::string* cookie = page.FindHeader("Set-Cookie");
    BOOST_REQUIRE(cookie);
    return cookie->find("; Secure") != std::string::npos;
  };
  forwarded_proto = "https";
  BOOST_TEST(!secure());  // 198.51.100.7 is nobody's proxy: the client's own word
  proxies.proxies = http::TrustedProxies::Parse({"198.51.100.0/24"}).value();
  BOOST_TEST(secure());
  forwarded_proto = " HTTPS ";
  BOOST_TEST(secure());
  forwarded_proto = "http";
  BOOST_TEST(!secure());
  // cookie_secure = always: Secure whatever the request says.
  forwarded_proto.clear();
  proxies.always_https = true;
  BOOST_TEST(secure());
}

BOOST_AUTO_TEST_CASE(nepali_by_accept_language_for_pages_and_sms) {
  accept_language = "ne-NP,ne;q=0.9,en;q=0.5";
  http::Response form = Get("/signup");
  BOOST_TEST(form.body.find("<html lang=\"ne\">") != std::string::npos);
  BOOST_TEST(form.body.find("आफ्नो खाता खोल्नुहोस्") != std::string::npos);
  SignUp("nepali", "9861234567");
  const std::string sms = LastSms();
  BOOST_TEST(sms.find("phoneverify कोड") == 0u, sms);
  BOOST_TEST(domain::MeasureSms(sms).fits_one_message());
  http::Response verify = Get("/verify");
  BOOST_TEST(verify.body.find("प्रमाणित गर्नुहोस्") != std::string::npos);
  BOOST_TEST(verify.body.find("६ अङ्कको कोड") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lang_parameter_sets_a_cookie_that_sticks) {
  accept_language = "en";
  http::Response r = Get("/login?lang=ne");
  BOOST_TEST(r.body.find("<html lang=\"ne\">") != std::string::npos);
  BOOST_TEST(jar["pv_lang"] == "ne");
  BOOST_TEST(Get("/login").body.find("<html lang=\"ne\">") != std::string::npos);
  BOOST_TEST(Get("/login?lang=en").body.find("<html lang=\"en\">") != std::string::npos);
  BOOST_TEST(jar["pv_lang"] == "en");
}

BOOST_AUTO_TEST_CASE(storage_outage_is_a_503_page_not_a_crash) {
  SignUp("down", "9821222222");
  store.fail_next = true;
  http::Response r = Get("/account");
  BOOST_TEST(r.status == 503);
  BOOST_TEST(r.body.find("busy") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_api_is_unchanged_beside_the_pages) {
  http::Request request;
  request.method = "POST";
  request.path = "/api/v1/accounts";
  request.content_type = "application/json";
  request.body = R"({"username":"api_user","password":"correct horse"})";
  http::Response r = app.Handle(request);
  BOOST_TEST(r.status == 201);
  BOOST_TEST(*r.FindHeader("Content-Type") == "application/json; charset=utf-8");
  BOOST_TEST(!r.FindHeader("Set-Cookie"));
}

BOOST_AUTO_TEST_CASE(the_api_send_takes_an_optional_sms_language) {
  auto signed_up = account_service.SignUp({"api_lang", "correct horse", "", "", "", ""}, "1");
  BOOST_REQUIRE(signed_up.ok());
  auto token = account_service.Login("api_lang", "correct horse", "127.0.0.1");
  BOOST_REQUIRE(token.ok());
  auto send = [&](const std::string& json) {
    http::Request request;
    request.method = "POST";
    request.path = "/api/v1/phone/send-otp";
    request.content_type = "application/json";
    request.authorization = "Token " + token.value();
    request.body = json;
    clock.Advance(3600);  // past the cooldown
    return app.Handle(request);
  };
  BOOST_TEST(send(R"({"phone":"9841234000"})").status == 202);
  BOOST_TEST(LastSms().find("phoneverify code: ") == 0u);
  BOOST_TEST(send(R"({"phone":"9841234000","lang":"ne"})").status == 202);
  BOOST_TEST(LastSms().find("phoneverify कोड") == 0u);
  http::Response bad = send(R"({"phone":"9841234000","lang":"fr"})");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("\"field\":\"lang\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::handlers
