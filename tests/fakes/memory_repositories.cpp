#include "fakes/memory_repositories.h"

#include <algorithm>

namespace phoneverify::fakes {

using domain::WindowLimit;
using domain::WindowUsage;

std::optional<int64_t> MemoryStore::PhoneOwner(const std::string& phone) const {
  for (const auto& [id, row] : accounts) {
    if (row.account.phone_verified && row.account.phone == phone) return id;
  }
  return std::nullopt;
}

std::vector<WindowUsage> MemoryStore::Usage(const std::vector<WindowLimit>& limits,
                                            int64_t now) const {
  std::vector<WindowUsage> out;
  for (const auto& limit : limits) {
    WindowUsage u;
    auto it = events.find({limit.scope, limit.key});
    if (it != events.end()) {
      for (int64_t at : it->second) {
        if (at <= now - limit.window) continue;
        if (u.count == 0 || at < u.oldest) u.oldest = at;
        ++u.count;
      }
    }
    out.push_back(u);
  }
  return out;
}

int64_t MemoryStore::Resolve(const domain::Caller& who) const {
  int64_t id = who.account_id;
  if (id == 0) {
    auto token = tokens.find(who.token_hash);
    if (token == tokens.end()) return 0;
    id = token->second;
  }
  auto row = accounts.find(id);
  return row != accounts.end() && row->second.account.is_active ? id : 0;
}

bool MemoryStore::TakeFailure() {
  bool f = fail_next;
  fail_next = false;
  return f;
}

util::Result<domain::Account> MemoryAccountRepository::Create(const domain::NewAccount& in) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  for (const auto& [id, row] : s_.accounts) {
    if (row.username_key == in.username_key) {
      return util::Error::Make(util::ErrorKind::kConflict, "username_taken",
                               "That username is taken.", "username");
    }
  }
  MemoryStore::AccountRow row;
  row.account.id = s_.next_account_id++;
  row.account.username = in.username;
  row.account.email = in.email;
  row.account.first_name = in.first_name;
  row.account.last_name = in.last_name;
  row.account.pending_phone = in.pending_phone;
  row.account.date_joined = in.now;
  row.username_key = in.username_key;
  row.password_hash = in.password_hash;
  s_.accounts[row.account.id] = row;
  return row.account;
}

util::Result<std::optional<domain::Account>> MemoryAccountRepository::FindById(int64_t id) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  auto it = s_.accounts.find(id);
  if (it == s_.accounts.end()) return std::optional<domain::Account>();
  return std::optional<domain::Account>(it->second.account);
}

util::Result<std::optional<domain::Credentials>> MemoryAccountRepository::FindCredentials(
    const std::string& key) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  for (const auto& [id, row] : s_.accounts) {
    if (row.username_key == key) {
      return std::optional<domain::Credentials>(
          domain::Credentials{id, row.password_hash, row.account.is_active});
    }
  }
  return std::optional<domain::Credentials>();
}

util::Status MemoryAccountRepository::RecordLogin(int64_t account_id, int64_t now) {
  s_.accounts[account_id].last_login = now;
  return util::Status::Ok();
}

util::Status MemoryAccountRepository::StoreToken(const std::string& hash, int64_t account_id,
                                                 int64_t) {
  s_.tokens[hash] = account_id;
  return util::Status::Ok();
}

util::Result<std::optional<domain::Account>> MemoryAccountRepository::FindByTokenHash(
    const std::string& hash) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  auto it = s_.tokens.find(hash);
  if (it == s_.tokens.end()) return std::optional<domain::Account>();
  return FindById(it->second);
}

util::Result<bool> MemoryAccountRepository::DeleteToken(const std::string& hash) {
  return s_.tokens.erase(hash) > 0;
}

util::Status MemoryAccountRepository::SetPendingPhone(int64_t account_id,
                                                      const std::string& phone) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  auto it = s_.accounts.find(account_id);
  if (it != s_.accounts.end()) it->second.account.pending_phone = phone;
  return util::Status::Ok();
}

util::Status MemorySessionRepository::Create(const std::string& id_hash, int64_t account_id,
                                             int64_t now) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  s_.sessions[id_hash] = MemoryStore::SessionRow{account_id, now, now};
  return util::Status::Ok();
}

util::Result<std::optional<domain::SessionRecord>> MemorySessionRepository::Find(
    const std::string& id_hash) {
  using Found = std::optional<domain::SessionRecord>;
  if (s_.TakeFailure()) return util::Error::Unavailable();
  auto it = s_.sessions.find(id_hash);
  if (it == s_.sessions.end()) return Found();
  auto owner = s_.accounts.find(it->second.account_id);
  if (owner == s_.accounts.end() || !owner->second.account.is_active) return Found();
  return Found(domain::SessionRecord{owner->second.account, it->second.created_at,
                                     it->second.last_seen_at});
}

util::Status MemorySessionRepository::Touch(const std::string& id_hash, int64_t now) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  auto it = s_.sessions.find(id_hash);
  if (it != s_.sessions.end()) it->second.last_seen_at = std::max(it->second.last_seen_at, now);
  return util::Status::Ok();
}

util::Result<bool> MemorySessionRepository::Delete(const std::string& id_hash) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  return s_.sessions.erase(id_hash) > 0;
}

util::Result<int> MemorySessionRepository::DeleteExpired(int64_t idle_before,
                                                         int64_t created_before, int max) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  int deleted = 0;
  for (auto it = s_.sessions.begin(); it != s_.sessions.end() && deleted < max;) {
    const bool expired =
        it->second.last_seen_at <= idle_before || it->second.created_at <= created_before;
    it = expired ? s_.sessions.erase(it) : std::next(it);
    deleted += expired;
  }
  return deleted;
}

util::Result<std::vector<WindowUsage>> MemoryLimitRepository::Usage(
    const std::vector<WindowLimit>& limits, int64_t now) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  return s_.Usage(limits, now);
}

util::Result<std::vector<int64_t>> MemoryLimitRepository::Reserve(
    const std::vector<WindowLimit>& limits, int64_t now,
    const std::function<util::Status(const std::vector<WindowUsage>&)>& decide) {
  ++reserve_calls;
  if (s_.TakeFailure()) return util::Error::Unavailable();
  if (auto st = decide(s_.Usage(limits, now)); !st.ok()) return st.error();
  std::vector<int64_t> ids;
  for (const auto& limit : limits) {
    const MemoryStore::LimitKey key{limit.scope, limit.key};
    s_.events[key].push_back(now);
    s_.event_ids[s_.next_event_id] = {key, now};
    ids.push_back(s_.next_event_id++);
  }
  return ids;
}

util::Status MemoryLimitRepository::Release(const std::vector<int64_t>& event_ids) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  for (int64_t id : event_ids) {
    auto found = s_.event_ids.find(id);
    if (found == s_.event_ids.end()) continue;  // gone already, as DELETE by id finds none
    const auto& [key, at] = found->second;
    std::vector<int64_t>& times = s_.events[key];
    auto one = std::find(times.begin(), times.end(), at);
    if (one != times.end()) times.erase(one);
    s_.event_ids.erase(found);
  }
  return util::Status::Ok();
}

util::Status MemoryLimitRepository::Clear(const WindowLimit& limit) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  const MemoryStore::LimitKey key{limit.scope, limit.key};
  s_.events.erase(key);
  std::erase_if(s_.event_ids, [&](const auto& entry) { return entry.second.first == key; });
  return util::Status::Ok();
}

util::Result<domain::RecordedSend> MemoryOtpRepository::RecordSend(
    const domain::SendPlan& plan, const domain::NewCode& code,
    const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  domain::SendSnapshot snap;
  // Like the procedure: an account already resolved is taken as it is, a token resolved.
  snap.account_id = plan.who.account_id != 0 ? plan.who.account_id : s_.Resolve(plan.who);
  if (snap.account_id == 0) {
    snap.usage.resize(plan.limits.size());
    const domain::SendVerdict refused = decide(snap);
    return refused.status.ok() ? util::Error::Internal() : refused.status.error();
  }
  const int64_t account_id = snap.account_id;
  const std::vector<domain::WindowLimit> limits = KeyedByAccount(plan.limits, account_id);
  snap.phone_owner = s_.PhoneOwner(plan.phone);
  snap.last_send_to_phone = s_.last_send.count(plan.phone) ? s_.last_send[plan.phone] : 0;
  snap.usage = s_.Usage(limits, plan.now);
  const std::string& idempotency_key = code.client_key;
  const auto log_key = std::make_tuple(account_id, plan.phone, std::string("send"),
                                       idempotency_key);
  if (!idempotency_key.empty() && s_.request_log.count(log_key)) {
    return domain::RecordedSend{s_.request_log[log_key], true, snap.usage};
  }
  const domain::SendVerdict verdict = decide(snap);
  if (!verdict.status.ok()) {
    for (size_t i : verdict.charged) {
      s_.events[{limits.at(i).scope, limits.at(i).key}].push_back(plan.now);
    }
    return verdict.status.error();
  }
  for (const auto& limit : limits) s_.events[{limit.scope, limit.key}].push_back(plan.now);
  s_.last_send[plan.phone] = plan.now;
  for (auto& row : s_.outbox) {
    if (row.account_id == account_id && row.phone == plan.phone &&
        (row.state == "queued" || row.state == "retry")) {
      row.state = "superseded";
      row.sealed_text.clear();
    }
  }
  MemoryStore::OutboxRow row;
  row.id = static_cast<int64_t>(s_.outbox.size()) + 1;
  row.account_id = account_id;
  row.phone = plan.phone;
  row.sealed_text = code.sealed_text;
  row.request_id = code.request_id;
  row.expires_at = code.message_expires_at;
  s_.outbox.push_back(row);
  s_.codes[{account_id, plan.phone}] = code.record;
  s_.code_outbox[{account_id, plan.phone}] = row.id;
  if (!idempotency_key.empty()) s_.request_log[log_key] = row.id;
  return domain::RecordedSend{row.id, false, snap.usage};
}

namespace {

domain::RecordedGuess Applied(domain::GuessDecision decision) {
  domain::RecordedGuess applied;
  applied.decision = std::move(decision);
  return applied;
}

}  // namespace

util::Result<domain::RecordedGuess> MemoryOtpRepository::RecordGuess(
    const domain::GuessRequest& guess,
    const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) {
  if (s_.TakeFailure()) return util::Error::Unavailable();
  domain::GuessContext ctx;
  const int64_t account_id = s_.Resolve(guess.who);
  ctx.account_id = account_id;
  if (account_id == 0) return Applied(decide(ctx));
  const std::string& phone = guess.phone;
  const std::string& idempotency_key = guess.client_key;
  auto key = std::make_pair(account_id, phone);
  if (s_.codes.count(key)) ctx.otp = s_.codes[key];
  ctx.phone_owner = s_.PhoneOwner(phone);
  ctx.last_send_to_phone = s_.last_send.count(phone) ? s_.last_send[phone] : 0;
  const auto log_key =
      std::make_tuple(account_id, phone, std::string("guess"), idempotency_key);
  if (!idempotency_key.empty() && s_.request_log.count(log_key)) {
    domain::RecordedGuess replayed;
    replayed.decision.outcome = s_.request_log[log_key] == 2 ? domain::GuessOutcome::kCorrect
                                                              : domain::GuessOutcome::kWrong;
    replayed.replayed = true;
    replayed.otp = ctx.otp;
    return replayed;
  }
  domain::GuessDecision decision = decide(ctx);
  if (!idempotency_key.empty() && decision.outcome != domain::GuessOutcome::kRefused) {
    s_.request_log[log_key] = decision.outcome == domain::GuessOutcome::kCorrect ? 2 : 1;
  }
  if (decision.outcome == domain::GuessOutcome::kWrong) ++s_.codes[key].attempts_used;
  if (decision.outcome == domain::GuessOutcome::kCorrect) {
    s_.codes[key].consumed = true;
    auto& account = s_.accounts[account_id].account;
    account.phone = phone;
    account.phone_verified = true;
    account.pending_phone.clear();
  }
  return Applied(decision);
}

util::Result<std::optional<domain::CodeStatusRecord>> MemoryOtpRepository::FindCodeStatus(
    int64_t account_id, const std::string& phone) {
  auto key = std::make_pair(account_id, phone);
  if (!s_.codes.count(key)) return std::optional<domain::CodeStatusRecord>();
  domain::CodeStatusRecord rec;
  rec.otp = s_.codes[key];
  const auto& row = s_.outbox[s_.code_outbox[key] - 1];
  rec.delivery_state = row.state;
  rec.delivery_error = row.last_error;
  rec.last_send_to_phone = s_.last_send[phone];
  return std::optional<domain::CodeStatusRecord>(rec);
}

util::Result<std::vector<WindowUsage>> MemoryOtpRepository::Usage(
    const std::vector<WindowLimit>& limits, int64_t now) {
  return s_.Usage(limits, now);
}

util::Result<std::optional<int64_t>> MemoryOtpRepository::PhoneOwner(const std::string& phone) {
  return s_.PhoneOwner(phone);
}

}  // namespace phoneverify::fakes
