#include "handlers/page_handlers.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <utility>

#include "domain/phone_number.h"
#include "domain/sms_text.h"
#include "handlers/common.h"
#include "handlers/page_text.h"
#include "http/cookies.h"
#include "http/error_mapping.h"

namespace phoneverify::handlers {
namespace {

using domain::Language;
using util::Error;
using util::ErrorKind;

constexpr int64_t kLanguageCookieAge = 365 * 24 * 3600;
constexpr int64_t kNoticeCookieAge = 300;
constexpr size_t kMaxNext = 512;
constexpr size_t kMaxNoticeCode = 40;
constexpr char kNoticeSent[] = "sent";
constexpr char kNoticeNoCode[] = "nocode";

Error CsrfFailed() {
  return Error::Make(ErrorKind::kForbidden, "csrf_failed",
                     "The form's CSRF token is missing or does not match.");
}

std::string Field(const http::Fields& fields, const char* name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

std::string WithoutSpaces(std::string text) {
  std::erase_if(text, [](char c) { return c == ' ' || c == '\t' || c == '-'; });
  return text;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                       c == '/';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string WithNext(const std::string& path, const std::string& next) {
  return next.empty() ? path : path + "?next=" + UrlEncode(next);
}

// The status of a form that a refusal re-renders.
int FormStatus(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
    default:
      return 400;
  }
}

// The GET page whose language links a template shows.
std::string PagePath(const std::string& template_name) {
  return template_name == "error" ? "/login" : "/" + template_name;
}

bool IsNoticeCode(std::string_view code) {
  if (code.empty() || code.size() > kMaxNoticeCode) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

const char* StatusTextKey(const domain::CodeStatusView& view) {
  if (view.state == "expired") return "verify_expired";
  if (view.state == "locked") return "verify_locked";
  return "verify_sent_to";
}

}  // namespace

// ---- per-request state ------------------------------------------------------------

struct PageHandlers::Context {
  explicit Context(const http::Request& r) : request(r) {}
  const http::Request& request;
  http::Fields query;
  Language language = Language::kEnglish;
  bool remember_language = false;
  std::string next;
  std::string session_id;  // the browser's id: a session's, or a visitor's
  bool new_id = false;     // the id is new: hand it out as a session cookie
  std::optional<int64_t> session_max_age;  // set by a sign-in: the cookie's Max-Age
  std::optional<domain::Account> account;
  std::string notice;  // pv_notice to set for the next page, "" for none
  bool clear_notice = false;
};

// A form's state for re-rendering: kept input, errors by field, one error for the form.
struct PageHandlers::FormState {
  ViewData values;
  ViewData errors;
  std::string form_error;
  int status = 200;
  std::optional<int64_t> retry_after;

  bool failed() const { return status >= 400; }
  void Missing(Language language, const char* field) {
    errors.Set(field, PageText(language, "error_missing_field"));
    status = 400;
  }
  // Shows `error` next to its field when the form has that field, else above the form.
  void Fail(Language language, const Error& error, int code_digits,
            std::initializer_list<const char*> fields) {
    const std::string message = ErrorMessage(language, error, code_digits);
    bool placed = false;
    for (const char* field : fields) {
      if (error.field == field) {
        errors.Set(field, message);
        placed = true;
      }
    }
    if (!placed) form_error = message;
    status = FormStatus(error);
    if ((status == 429 || status == 503) && error.retry_after) retry_after = *error.retry_after;
  }
};

// ---- the stages ---------------------------------------------------------------------

const std::vector<std::string>& PageHandlers::Templates() {
  static const std::vector<std::string> kNames = {"layout_top", "layout_bottom", "signup", "login",
                                                  "verify", "account", "error"};
  return kNames;
}

util::Result<http::Response> PageHandlers::Serve(const http::Request& request, Page page) {
  Context ctx(request);
  auto query = http::ParseQuery(request.query);
  if (query.ok()) ctx.query = std::move(query).value();  // a malformed query is ignored
  const std::string lang_param = Field(ctx.query, "lang");
  ctx.language = ChooseLanguage(
      lang_param, http::CookieValue(request.cookie, kLanguageCookie).value_or(""),
      request.accept_language);
  ctx.remember_language = domain::LanguageFromCode(lang_param).has_value();
  ctx.next = SafeNextPath(Field(ctx.query, "next"));
  const util::Status resumed = ResumeSession(ctx);
  util::Result<http::Response> result =
      resumed.ok() ? (this->*page)(ctx) : util::Result<http::Response>(resumed.error());
  http::Response response =
      result.ok() ? std::move(result).value() : ErrorPage(ctx, result.error());
  Finish(ctx, response);
  return response;
}

// The browser's id from the session cookie (a new visitor id when it brought none) and,
// when the id names a live session, the signed-in account.
util::Status PageHandlers::ResumeSession(Context& ctx) {
  const std::string id = http::CookieValue(ctx.request.cookie, kSessionCookie).value_or("");
  if (!domain::SessionService::IsWellFormedId(id)) {
    ctx.session_id = sessions_.NewVisitorId();
    ctx.new_id = true;
    return util::Status::Ok();
  }
  ctx.session_id = id;
  auto account = sessions_.Resume(id);
  if (!account.ok()) return account.error();
  ctx.account = account.value();
  return util::Status::Ok();
}

void PageHandlers::Finish(const Context& ctx, http::Response& response) const {
  http::CookieAttributes attributes;
  attributes.secure = ctx.request.https;
  auto set = [&](const char* name, const std::string& value, std::optional<int64_t> max_age) {
    attributes.max_age = max_age;
    response.AddHeader("Set-Cookie", http::SetCookieValue(name, value, attributes));
  };
  if (ctx.session_max_age || ctx.new_id) set(kSessionCookie, ctx.session_id, ctx.session_max_age);
  if (ctx.remember_language) {
    set(kLanguageCookie, domain::LanguageCode(ctx.language), kLanguageCookieAge);
  }
  if (!ctx.notice.empty()) {
    set(kNoticeCookie, ctx.notice, kNoticeCookieAge);
  } else if (ctx.clear_notice) {
    set(kNoticeCookie, "", 0);
  }
}

util::Result<http::Fields> PageHandlers::Posted(Context& ctx) {
  auto fields = http::ParseFields(ctx.request);
  if (!fields.ok()) return fields.error();
  // A browser that brought no id of ours never received one of our forms.
  if (ctx.new_id ||
      !sessions_.CsrfTokenMatches(ctx.session_id, Field(fields.value(), "csrf_token"))) {
    return CsrfFailed();
  }
  const std::string next = SafeNextPath(Field(fields.value(), "next"));
  if (!next.empty()) ctx.next = next;
  return fields;
}

util::Status PageHandlers::SignIn(Context& ctx, const domain::Account& account) {
  // Always a fresh id: whatever id the browser had before (perhaps planted) is dropped.
  auto started = sessions_.Start(account.id, ctx.new_id ? "" : ctx.session_id);
  if (!started.ok()) return started.error();
  ctx.session_id = started.value().id;
  ctx.session_max_age = started.value().max_age;
  ctx.new_id = false;
  ctx.account = account;
  return util::Status::Ok();
}

std::string PageHandlers::Home(const Context& ctx, const domain::Account& account) const {
  if (!account.phone_verified) return WithNext("/verify", ctx.next);
  return ctx.next.empty() ? "/account" : ctx.next;
}

// ---- rendering ----------------------------------------------------------------------

http::Response PageHandlers::Render(Context& ctx, int status, const std::string& name,
                                    const std::string& title_key, ViewData data) {
  const Language language = ctx.language;
  const std::string next_param = ctx.next.empty() ? "" : "&next=" + UrlEncode(ctx.next);
  data.Set("lang", domain::LanguageCode(language))
      .Set("title", PageText(language, title_key))
      .Set("csrf_token", sessions_.CsrfToken(ctx.session_id))
      .Set("next", ctx.next)
      .Set("next_query", ctx.next.empty() ? "" : "?next=" + UrlEncode(ctx.next))
      .Set("lang_en_href", PagePath(name) + "?lang=en" + next_param)
      .Set("lang_ne_href", PagePath(name) + "?lang=ne" + next_param)
      .SetFlag(language == Language::kNepali ? "is_ne" : "is_en", true)
      .SetObject("t", PageTexts(language));
  if (ctx.account) data.SetFlag("signed_in", true).Set("username", ctx.account->username);
  auto html = view_.Render(name, data);
  if (!html.ok()) {
    // A broken template is our bug: say nothing more than a 500 would.
    return http::HtmlResponse(500, "<!doctype html><title>Internal error</title>"
                                   "<p>Internal error.</p>\n");
  }
  return http::HtmlResponse(status, std::move(html).value());
}

http::Response PageHandlers::FormPage(Context& ctx, const std::string& name,
                                      const std::string& title_key, FormState form) {
  return FormPage(ctx, name, title_key, std::move(form), ViewData());
}

http::Response PageHandlers::FormPage(Context& ctx, const std::string& name,
                                      const std::string& title_key, FormState form,
                                      ViewData data) {
  data.SetObject("values", std::move(form.values)).SetObject("errors", std::move(form.errors));
  if (!form.form_error.empty()) data.Set("form_error", form.form_error);
  http::Response response = Render(ctx, form.status, name, title_key, std::move(data));
  if (form.retry_after) response.SetHeader("Retry-After", std::to_string(*form.retry_after));
  return response;
}

http::Response PageHandlers::ErrorPage(Context& ctx, const Error& error) {
  const int status = http::HttpStatus(error.kind);
  const bool csrf = error.code == "csrf_failed";
  const char* message_key = csrf                           ? "error_csrf_failed"
                            : error.code == "unavailable" ? "error_unavailable"
                                                          : "error_generic";
  ViewData data;
  data.Set("message", PageText(ctx.language, message_key));
  http::Response response =
      Render(ctx, status, "error", csrf ? "forbidden_title" : "error_title", std::move(data));
  if (error.retry_after && (status == 429 || status == 503)) {
    response.SetHeader("Retry-After", std::to_string(*error.retry_after));
  }
  return response;
}

// ---- sign-up and sign-in ------------------------------------------------------------

util::Result<http::Response> PageHandlers::DoSignupForm(Context& ctx) {
  if (ctx.account) return http::SeeOther(Home(ctx, *ctx.account));
  return FormPage(ctx, "signup", "signup_title", FormState());
}

util::Result<http::Response> PageHandlers::DoSignup(Context& ctx) {
  auto fields = Posted(ctx);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  FormState form;
  for (const char* name : {"username", "phone", "email"}) form.values.Set(name, Field(f, name));
  const domain::SignUpInput input{Field(f, "username"), Field(f, "password"), Field(f, "email"),
                                  "", "", Field(f, "phone")};
  // Every field at fault at once, not one per attempt.
  for (const Error& problem : accounts_.ValidateSignUp(input)) {
    form.Fail(ctx.language, problem, otp_length_, {"username", "password", "phone", "email"});
  }
  for (const char* name : {"username", "password", "phone"}) {
    if (Field(f, name).empty()) form.Missing(ctx.language, name);
  }
  if (form.failed()) return FormPage(ctx, "signup", "signup_title", std::move(form));
  auto account = accounts_.SignUp(input, ctx.request.client_key);
  if (!account.ok()) {
    form.Fail(ctx.language, account.error(), otp_length_,
              {"username", "password", "phone", "email"});
    return FormPage(ctx, "signup", "signup_title", std::move(form));
  }
  if (util::Status st = SignIn(ctx, account.value()); !st.ok()) return st.error();
  auto sent = verification_.SendCode(account.value(), account.value().pending_phone,
                                     ctx.request.client_key, ctx.request.request_id,
                                     ctx.language);
  if (!sent.ok()) {
    // The account stands; /verify explains why no code came and when one can.
    const int64_t until = clock_.NowSeconds() + sent.error().retry_after.value_or(0);
    ctx.notice = std::string(kNoticeNoCode) + "." + sent.error().code + "." +
                 std::to_string(until);
  }
  return http::SeeOther(WithNext("/verify", ctx.next));
}

util::Result<http::Response> PageHandlers::DoLoginForm(Context& ctx) {
  if (ctx.account) return http::SeeOther(Home(ctx, *ctx.account));
  return FormPage(ctx, "login", "login_title", FormState());
}

util::Result<http::Response> PageHandlers::DoLogin(Context& ctx) {
  auto fields = Posted(ctx);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  FormState form;
  form.values.Set("username", Field(f, "username"));
  for (const char* name : {"username", "password"}) {
    if (Field(f, name).empty()) form.Missing(ctx.language, name);
  }
  if (form.failed()) return FormPage(ctx, "login", "login_title", std::move(form));
  auto account = accounts_.CheckCredentials(Field(f, "username"), Field(f, "password"),
                                             ctx.request.client_key);
  if (!account.ok()) {
    // Never next to a field: the page must not tell which of the two was wrong.
    form.Fail(ctx.language, account.error(), otp_length_, {});
    return FormPage(ctx, "login", "login_title", std::move(form));
  }
  if (util::Status st = SignIn(ctx, account.value()); !st.ok()) return st.error();
  return http::SeeOther(Home(ctx, account.value()));
}

// ---- verification -------------------------------------------------------------------

util::Result<http::Response> PageHandlers::DoVerifyForm(Context& ctx) {
  if (!ctx.account) return http::SeeOther(WithNext("/login", ctx.next));
  if (ctx.account->phone_verified) return http::SeeOther(Home(ctx, *ctx.account));
  return VerifyPage(ctx, FormState());
}

util::Result<http::Response> PageHandlers::VerifyPage(Context& ctx, FormState form) {
  ViewData data;
  AddNotice(ctx, data);
  if (util::Status st = DescribeCode(ctx, *ctx.account, data); !st.ok()) return st.error();
  data.Set("otp_length", std::to_string(otp_length_))
      .Set("code_hint", Fill(PageText(ctx.language, "hint_code"), "n",
                             domain::LocalizedNumber(otp_length_, ctx.language)));
  return FormPage(ctx, "verify", "verify_title", std::move(form), std::move(data));
}

// The phone, the state of its latest code and the resend button's cooldown.
util::Status PageHandlers::DescribeCode(Context& ctx, const domain::Account& account,
                                        ViewData& data) {
  const Language language = ctx.language;
  const std::string& phone = account.pending_phone;
  if (phone.empty()) {
    data.SetFlag("needs_phone", true);
    return util::Status::Ok();
  }
  const std::string masked = domain::MaskPhone(phone);
  data.SetFlag("has_phone", true).Set("phone_masked", masked);
  auto status = verification_.CodeStatus(account, phone);
  int64_t resend_in = 0;
  if (!status.ok()) {
    if (status.error().code != "otp_not_requested") return status.error();
    data.Set("status_text", Fill(PageText(language, "verify_no_code"), "phone", masked));
  } else {
    const domain::CodeStatusView& view = status.value();
    resend_in = view.resend_in;
    data.Set("status_text", Fill(PageText(language, StatusTextKey(view)), "phone", masked));
    if (view.state == "pending") {
      data.Set("expires_text", Fill(PageText(language, "verify_expires_in"), "wait",
                                    domain::DescribeDuration(view.expires_in, language)));
    }
    if (view.delivery == "failed") {
      data.Set("delivery_problem", PageText(language, "verify_delivery_failed"));
    }
  }
  data.Set("resend_in", std::to_string(resend_in));
  if (resend_in > 0) data.SetFlag("cooling_down", true);
  data.Set("resend_label",
           resend_in > 0 ? Fill(PageText(language, "resend_wait"), "wait",
                                domain::DescribeDuration(resend_in, language))
                         : PageText(language, "resend_button"));
  return util::Status::Ok();
}

// The one-shot notice a redirect left for this page (pv_notice), consumed here.
void PageHandlers::AddNotice(Context& ctx, ViewData& data) {
  const auto cookie = http::CookieValue(ctx.request.cookie, kNoticeCookie);
  if (!cookie || cookie->empty()) return;
  ctx.clear_notice = true;
  const Language language = ctx.language;
  const std::string masked = domain::MaskPhone(ctx.account->pending_phone);
  if (*cookie == kNoticeSent) {
    data.Set("notice", Fill(PageText(language, "notice_code_sent"), "phone", masked));
    return;
  }
  // nocode.<error code>.<unix time when a send is allowed again>
  const size_t dot1 = cookie->find('.');
  const size_t dot2 = cookie->find('.', dot1 == std::string::npos ? dot1 : dot1 + 1);
  if (dot2 == std::string::npos || cookie->substr(0, dot1) != kNoticeNoCode) return;
  Error reason;
  reason.code = cookie->substr(dot1 + 1, dot2 - dot1 - 1);
  if (!IsNoticeCode(reason.code)) return;
  const int64_t until = std::atoll(cookie->c_str() + dot2 + 1);
  reason.retry_after = std::max<int64_t>(1, until - clock_.NowSeconds());
  const std::string why = ErrorMessage(language, reason, otp_length_);
  data.Set("warning", Fill(PageText(language, "notice_no_code"), "reason", why));
}

util::Result<http::Response> PageHandlers::DoVerify(Context& ctx) {
  auto fields = Posted(ctx);
  if (!fields.ok()) return fields.error();
  if (!ctx.account) return http::SeeOther(WithNext("/login", ctx.next));
  if (ctx.account->phone_verified) return http::SeeOther(Home(ctx, *ctx.account));
  const std::string otp = WithoutSpaces(Field(fields.value(), "otp"));
  FormState form;
  form.values.Set("otp", otp);
  if (otp.empty()) {
    form.Missing(ctx.language, "otp");
    return VerifyPage(ctx, std::move(form));
  }
  const std::string phone = ctx.account->pending_phone;
  auto verified = phone.empty() ? util::Result<domain::VerifyReceipt>(Error::Make(
                                      ErrorKind::kInvalidInput, "otp_not_requested", "", "phone"))
                                : verification_.VerifyCode(*ctx.account, phone, otp);
  if (verified.ok() || verified.error().code == "phone_already_verified") {
    return http::SeeOther(ctx.next.empty() ? "/account" : ctx.next);
  }
  form.Fail(ctx.language, verified.error(), otp_length_, {"otp"});
  return VerifyPage(ctx, std::move(form));
}

util::Result<http::Response> PageHandlers::DoResend(Context& ctx) {
  auto fields = Posted(ctx);
  if (!fields.ok()) return fields.error();
  if (!ctx.account) return http::SeeOther(WithNext("/login", ctx.next));
  if (ctx.account->phone_verified) return http::SeeOther(Home(ctx, *ctx.account));
  FormState form;
  const std::string new_phone = Field(fields.value(), "phone");
  if (!new_phone.empty()) {
    form.values.Set("phone", new_phone);
    auto stored = accounts_.SetPendingPhone(ctx.account->id, new_phone);
    if (!stored.ok()) {
      form.Fail(ctx.language, stored.error(), otp_length_, {"phone"});
      return VerifyPage(ctx, std::move(form));
    }
    ctx.account->pending_phone = stored.value();
  }
  if (ctx.account->pending_phone.empty()) {
    form.Missing(ctx.language, "phone");
    return VerifyPage(ctx, std::move(form));
  }
  auto sent = verification_.SendCode(*ctx.account, ctx.account->pending_phone,
                                     ctx.request.client_key, ctx.request.request_id,
                                     ctx.language);
  if (!sent.ok()) {
    // A refused resend shows next to the button, unless a new number was at fault.
    if (new_phone.empty()) {
      form.Fail(ctx.language, sent.error(), otp_length_, {});
    } else {
      form.Fail(ctx.language, sent.error(), otp_length_, {"phone"});
    }
    return VerifyPage(ctx, std::move(form));
  }
  ctx.notice = kNoticeSent;
  return http::SeeOther(WithNext("/verify", ctx.next));
}

// ---- the account, signing out, the wall's check --------------------------------------

util::Result<http::Response> PageHandlers::DoAccount(Context& ctx) {
  if (!ctx.account) return http::SeeOther("/login");
  const domain::Account& account = *ctx.account;
  if (!account.phone_verified) return http::SeeOther(WithNext("/verify", ctx.next));
  ViewData data;
  data.Set("signed_in_as",
           Fill(PageText(ctx.language, "account_signed_in_as"), "name", account.username))
      .Set("phone_masked", domain::MaskPhone(account.phone.value_or("")));
  if (!account.email.empty()) data.Set("email", account.email);
  if (!ctx.next.empty()) data.Set("continue_href", ctx.next);
  return Render(ctx, 200, "account", "account_title", std::move(data));
}

util::Result<http::Response> PageHandlers::DoLogout(Context& ctx) {
  auto fields = Posted(ctx);
  if (!fields.ok()) return fields.error();
  if (util::Status st = sessions_.End(ctx.session_id); !st.ok()) return st.error();
  // A new visitor id: the old id (and its form tokens) is worth nothing from here on.
  ctx.session_id = sessions_.NewVisitorId();
  ctx.new_id = true;
  ctx.account.reset();
  return http::SeeOther("/login");
}

util::Result<http::Response> PageHandlers::AuthCheck(const http::Request& request) {
  std::optional<domain::Account> account;
  const std::string id = http::CookieValue(request.cookie, kSessionCookie).value_or("");
  if (!id.empty()) {
    auto resumed = sessions_.Resume(id);
    if (!resumed.ok()) return resumed.error();
    account = resumed.value();
  }
  if (!account && !request.authorization.empty()) {
    auto by_token = RequireAccount(accounts_, request);
    if (by_token.ok()) {
      account = by_token.value();
    } else if (by_token.error().kind != ErrorKind::kNotAuthenticated) {
      return by_token.error();
    }
  }
  if (!account) return http::EmptyResponse(401);
  if (!account->phone_verified) return http::EmptyResponse(403);
  http::Response allowed = http::EmptyResponse(204);
  allowed.SetHeader("X-Phoneverify-User", account->username);
  allowed.SetHeader("X-Phoneverify-Account", std::to_string(account->id));
  return allowed;
}

// ---- the public entry points --------------------------------------------------------

util::Result<http::Response> PageHandlers::SignupForm(const http::Request& r) {
  return Serve(r, &PageHandlers::DoSignupForm);
}
util::Result<http::Response> PageHandlers::Signup(const http::Request& r) {
  return Serve(r, &PageHandlers::DoSignup);
}
util::Result<http::Response> PageHandlers::LoginForm(const http::Request& r) {
  return Serve(r, &PageHandlers::DoLoginForm);
}
util::Result<http::Response> PageHandlers::Login(const http::Request& r) {
  return Serve(r, &PageHandlers::DoLogin);
}
util::Result<http::Response> PageHandlers::VerifyForm(const http::Request& r) {
  return Serve(r, &PageHandlers::DoVerifyForm);
}
util::Result<http::Response> PageHandlers::Verify(const http::Request& r) {
  return Serve(r, &PageHandlers::DoVerify);
}
util::Result<http::Response> PageHandlers::Resend(const http::Request& r) {
  return Serve(r, &PageHandlers::DoResend);
}
util::Result<http::Response> PageHandlers::Account(const http::Request& r) {
  return Serve(r, &PageHandlers::DoAccount);
}
util::Result<http::Response> PageHandlers::Logout(const http::Request& r) {
  return Serve(r, &PageHandlers::DoLogout);
}

std::string SafeNextPath(const std::string& next) {
  if (next.empty() || next.size() > kMaxNext || next[0] != '/') return "";
  // "//host" and "/\host" are read by browsers as another site.
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return "";
  for (char c : next) {
    if (c <= 0x20 || c >= 0x7f || c == '\\') return "";
  }
  return next;
}

}  // namespace phoneverify::handlers
