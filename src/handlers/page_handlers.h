// The HTML sign-up wall (contract section 5): /signup, /login, /verify, /verify/resend,
// /account, /logout, and GET /auth/check for nginx auth_request.
//
// Every page request passes through the same stages:
//   begin (language, ?next=) -> resume the session (cookie -> signed-in account) -> the page
//   -> errors become pages (403 for a bad CSRF token, 503 when storage is down)
//   -> finish (cookies: session id, language, one-shot notice).
// Pages are rendered from the templates by View; all text comes from page_text.h in the
// reader's language. POST forms must carry the CSRF token of the browser's session id
// (403 otherwise). Form errors re-render the form with status 400 (429 and Retry-After
// when a limit refused, 503 when the SMS budget is spent), the input kept except the
// password. A `next` local path (from ?next= or the forms) is carried through sign-in,
// sign-up and verification and followed at the end.
//
// Cookies (all Path=/, HttpOnly, SameSite=Lax, Secure when the request came over https):
//   pv_session  the session id: a signed-in session, or a visitor id that only anchors
//               the CSRF token (nothing stored). Max-Age = session_max_age after sign-in.
//   pv_lang     "en" or "ne" after an explicit ?lang= choice (one year).
//   pv_notice   one-shot message for /verify after a redirect (five minutes).
//
// Thread-compatible: one instance per worker.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/account.h"
#include "domain/account_service.h"
#include "domain/language.h"
#include "domain/session_service.h"
#include "domain/verification_service.h"
#include "handlers/view.h"
#include "http/fields.h"
#include "http/request.h"
#include "http/response.h"
#include "util/clock.h"
#include "util/status.h"

namespace phoneverify::handlers {

inline constexpr char kSessionCookie[] = "pv_session";
inline constexpr char kLanguageCookie[] = "pv_lang";
inline constexpr char kNoticeCookie[] = "pv_notice";

class PageHandlers {
 public:
  // All references must outlive the handlers. `otp_length` sizes the code field.
  PageHandlers(domain::AccountService& accounts, domain::VerificationService& verification,
               domain::SessionService& sessions, const View& view, const util::Clock& clock,
               int otp_length)
      : accounts_(accounts), verification_(verification), sessions_(sessions), view_(view),
        clock_(clock), otp_length_(otp_length) {}

  // The templates the pages render (start-up checks they exist).
  static const std::vector<std::string>& Templates();

  // GET/POST /signup: username, password, phone, optional email -> session, code sent,
  // 303 /verify (also when a limit kept the code from being sent: /verify says why).
  util::Result<http::Response> SignupForm(const http::Request& request);
  util::Result<http::Response> Signup(const http::Request& request);
  // GET/POST /login: 303 /account (or `next`), /verify while the phone is unverified.
  // A failed login says only "wrong username or password".
  util::Result<http::Response> LoginForm(const http::Request& request);
  util::Result<http::Response> Login(const http::Request& request);
  // GET/POST /verify: otp -> 303 /account (or `next`). Signed out: 303 /login.
  util::Result<http::Response> VerifyForm(const http::Request& request);
  util::Result<http::Response> Verify(const http::Request& request);
  // POST /verify/resend, optional phone (a corrected number): 303 /verify with a notice,
  // or the verify page with the cooldown (429, Retry-After).
  util::Result<http::Response> Resend(const http::Request& request);
  // GET /account: 200 verified; 303 /verify unverified; 303 /login signed out.
  util::Result<http::Response> Account(const http::Request& request);
  // POST /logout: ends the session, 303 /login.
  util::Result<http::Response> Logout(const http::Request& request);
  // GET /auth/check: 204 for a signed-in (session cookie or API token) account with a
  // verified phone (X-Phoneverify-User / X-Phoneverify-Account name it), 401 signed out,
  // 403 unverified. No body, no cookies.
  util::Result<http::Response> AuthCheck(const http::Request& request);

 private:
  struct Context;
  struct FormState;
  using Page = util::Result<http::Response> (PageHandlers::*)(Context&);

  util::Result<http::Response> Serve(const http::Request& request, Page page);
  util::Status ResumeSession(Context& ctx);
  void Finish(const Context& ctx, http::Response& response) const;
  util::Result<http::Fields> Posted(Context& ctx);
  util::Status SignIn(Context& ctx, const domain::Account& account);

  util::Result<http::Response> DoSignupForm(Context& ctx);
  util::Result<http::Response> DoSignup(Context& ctx);
  util::Result<http::Response> DoLoginForm(Context& ctx);
  util::Result<http::Response> DoLogin(Context& ctx);
  util::Result<http::Response> DoVerifyForm(Context& ctx);
  util::Result<http::Response> DoVerify(Context& ctx);
  util::Result<http::Response> DoResend(Context& ctx);
  util::Result<http::Response> DoAccount(Context& ctx);
  util::Result<http::Response> DoLogout(Context& ctx);

  util::Result<http::Response> VerifyPage(Context& ctx, FormState form);
  util::Status DescribeCode(Context& ctx, const domain::Account& account, ViewData& data);
  void AddNotice(Context& ctx, ViewData& data);
  http::Response Render(Context& ctx, int status, const std::string& name,
                        const std::string& title_key, ViewData data);
  http::Response FormPage(Context& ctx, const std::string& name, const std::string& title_key,
                          FormState form);
  http::Response FormPage(Context& ctx, const std::string& name, const std::string& title_key,
                          FormState form, ViewData data);
  http::Response ErrorPage(Context& ctx, const util::Error& error);
  std::string Home(const Context& ctx, const domain::Account& account) const;

  domain::AccountService& accounts_;
  domain::VerificationService& verification_;
  domain::SessionService& sessions_;
  const View& view_;
  const util::Clock& clock_;
  int otp_length_;
};

// A `next` value that is safe to redirect to: a local path ("/x", not "//host" or
// "/\host"), printable ASCII, at most 512 bytes; "" otherwise.
std::string SafeNextPath(const std::string& next);

}  // namespace phoneverify::handlers
