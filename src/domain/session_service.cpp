#include "domain/session_service.h"

#include <algorithm>

#include "util/crypto.h"

namespace phoneverify::domain {

SessionPolicy SessionPolicyFrom(const util::Config& config) {
  return SessionPolicy{config.session_idle_timeout, config.session_max_age,
                       config.session_key_bytes};
}

namespace {

constexpr size_t kIdBytes = 32;
constexpr int64_t kMaxTouchInterval = 60;
constexpr int kPruneBatch = 100;

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool SessionService::IsWellFormedId(std::string_view id) {
  return id.size() == kIdBytes * 2 && IsLowerHex(id);
}

int64_t SessionService::TouchInterval() const {
  return std::min(kMaxTouchInterval, policy_.idle_timeout / 10);
}

bool SessionService::Expired(const SessionRecord& record, int64_t now) const {
  return now - record.last_seen_at >= policy_.idle_timeout ||
         now - record.created_at >= policy_.max_age;
}

util::Result<StartedSession> SessionService::Start(int64_t account_id,
                                                   const std::string& previous_id) {
  if (IsWellFormedId(previous_id)) {
    if (util::Status st = End(previous_id); !st.ok()) return st.error();
  }
  const int64_t now = clock_.NowSeconds();
  StartedSession started{random_.Hex(kIdBytes), policy_.max_age};
  if (util::Status st = sessions_.Create(util::Hash(started.id), account_id, now); !st.ok()) {
    return st.error();
  }
  auto pruned = sessions_.DeleteExpired(now - policy_.idle_timeout, now - policy_.max_age,
                                        kPruneBatch);
  if (!pruned.ok()) return pruned.error();
  return started;
}

util::Result<std::optional<Account>> SessionService::Resume(const std::string& id) {
  using Found = std::optional<Account>;
  if (!IsWellFormedId(id)) return Found();
  const std::string id_hash = util::Hash(id);
  auto record = sessions_.Find(id_hash);
  if (!record.ok()) return record.error();
  if (!record.value()) return Found();
  const int64_t now = clock_.NowSeconds();
  if (Expired(*record.value(), now)) {
    auto deleted = sessions_.Delete(id_hash);
    if (!deleted.ok()) return deleted.error();
    return Found();
  }
  if (now - record.value()->last_seen_at >= TouchInterval()) {
    if (util::Status st = sessions_.Touch(id_hash, now); !st.ok()) return st.error();
  }
  return Found(record.value()->account);
}

util::Status SessionService::End(const std::string& id) {
  if (!IsWellFormedId(id)) return util::Status::Ok();
  auto deleted = sessions_.Delete(util::Hash(id));
  return deleted.status();
}

std::string SessionService::NewVisitorId() { return random_.Hex(kIdBytes); }

std::string SessionService::CsrfToken(const std::string& id) const {
  return util::HexEncode(util::KeyedHash(policy_.csrf_key, "csrf:" + id));
}

bool SessionService::CsrfTokenMatches(const std::string& id, const std::string& token) const {
  if (!IsWellFormedId(id) || token.size() != kIdBytes * 2) return false;
  return util::ConstantTimeEqual(CsrfToken(id), token);
}

}  // namespace phoneverify::domain
