// Web sessions for the HTML pages, and the CSRF tokens of their forms.
//
// A browser carries one random id in a cookie. For a signed-in user the id names a row in
// the session store, kept only as Hash(id), so a leaked table cannot be replayed as
// cookies. A visitor who has not signed in gets an id too, with nothing stored: it only
// anchors the CSRF token of the sign-up and login forms.
//
// Expiry: a session ends `idle_timeout` seconds after it was last used, and at the latest
// `max_age` seconds after it began, whatever the activity. Signing in always issues a
// fresh id (the old one is ended), so an id planted before login is worth nothing after.
//
// CSRF: every form carries a synchronizer token bound to the id it was rendered for:
// KeyedHash(csrf_key, "csrf:" id). It changes whenever the id does and cannot be made
// without the server key; checking it needs no storage, so workers stay stateless.
//
// Thread-compatible: one instance per worker thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/account.h"
#include "domain/ports.h"
#include "util/config.h"
#include "util/clock.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::domain {

struct SessionPolicy {
  int64_t idle_timeout = 0;  // seconds without a request before a session ends
  int64_t max_age = 0;       // seconds after sign-in when a session ends regardless
  std::string csrf_key;      // raw key bytes (32)
};

// The policy `config` sets (session_idle_timeout, session_max_age, session_key).
SessionPolicy SessionPolicyFrom(const util::Config& config);

struct StartedSession {
  std::string id;       // the cookie value (64 hex characters); never stored or logged
  int64_t max_age = 0;  // seconds until the absolute expiry (the cookie's Max-Age)
};

class SessionService {
 public:
  SessionService(SessionRepository& sessions, const SessionPolicy& policy,
                 const util::Clock& clock, util::Random& random)
      : sessions_(sessions), policy_(policy), clock_(clock), random_(random) {}

  // Signs `account_id` in with a new id. `previous_id` (the browser's id until now, may
  // be "") is ended if it named a session. Also prunes a few expired sessions.
  // Errors: storage failures.
  util::Result<StartedSession> Start(int64_t account_id, const std::string& previous_id);

  // The owner of a live session; nullopt for "", malformed, unknown or expired ids (an
  // expired row is deleted) and inactive accounts. Records the activity (at most once
  // per TouchInterval(), to spare the database a write per request).
  util::Result<std::optional<Account>> Resume(const std::string& id);

  // Ends the session (nothing happens for ids that name none).
  util::Status End(const std::string& id);

  // A fresh id for a visitor without one. Nothing is stored.
  std::string NewVisitorId();

  // The form token for `id`, 64 hex characters.
  std::string CsrfToken(const std::string& id) const;
  // Constant-time check of a posted token; false for a malformed id or token.
  bool CsrfTokenMatches(const std::string& id, const std::string& token) const;

  // Seconds between two writes of last_seen: a tenth of the idle timeout, at most 60.
  int64_t TouchInterval() const;

  // 64 lowercase hex characters.
  static bool IsWellFormedId(std::string_view id);

 private:
  bool Expired(const SessionRecord& record, int64_t now) const;

  SessionRepository& sessions_;
  const SessionPolicy& policy_;
  const util::Clock& clock_;
  util::Random& random_;
};

}  // namespace phoneverify::domain
