#include "fakes/memory_verification_store.h"

#include <algorithm>

namespace phoneverify::fakes {

std::vector<domain::WindowUsage> MemoryVerificationStore::UsageOf(
    const std::vector<domain::WindowLimit>& limits, int64_t now) const {
  std::vector<domain::WindowUsage> usage;
  for (const auto& limit : limits) {
    domain::WindowUsage u;
    for (const auto& [scope, key, at] : limit_events) {
      if (scope != limit.scope || key != limit.key || at <= now - limit.window) continue;
      ++u.count;
      u.oldest = u.oldest == 0 ? at : std::min(u.oldest, at);
    }
    usage.push_back(u);
  }
  return usage;
}

util::Result<domain::ApiAnswer> MemoryVerificationStore::Once(
    const domain::ApiRequest& request, const std::function<domain::VerificationChange()>& run) {
  std::optional<AnswerKey> key;
  if (request.client_key) key = AnswerKey{request.client_id, request.name, *request.client_key};
  if (key) {
    auto kept = answers_.find(*key);
    if (kept != answers_.end()) {
      domain::ApiAnswer answer = kept->second;
      answer.replayed = true;
      return answer;
    }
  }
  domain::VerificationChange change = run();
  const bool writes = change.record.has_value();
  domain::ApiAnswer answer = change.answer;
  if (writes && key) answers_[*key] = answer;
  return answer;
}

void MemoryVerificationStore::Apply(domain::VerificationChange& change,
                                    const std::vector<domain::WindowLimit>& limits,
                                    int64_t now) {
  if (!change.record) return;
  ++writes;
  for (domain::VerificationRecord canceled : change.canceled) {
    canceled.status = domain::VerificationStatus::kCanceled;
    verifications[canceled.public_id] = canceled;
  }
  domain::VerificationRecord& record = *change.record;
  if (record.id == 0) record.id = next_id_++;
  if (change.message) {
    messages.push_back(*change.message);
    last_send[record.phone] = now;
  }
  verifications[record.public_id] = record;
  if (change.count_send) {
    for (const auto& limit : limits) limit_events.emplace_back(limit.scope, limit.key, now);
  }
  for (const auto& event : change.events) events.push_back(event);
}

util::Result<domain::ApiAnswer> MemoryVerificationStore::Start(
    const domain::ApiRequest& request, const domain::StartPlan& plan,
    const std::function<domain::VerificationChange(const domain::StartSnapshot&)>& decide) {
  return Once(request, [&] {
    domain::StartSnapshot snap;
    snap.last_send_to_phone = last_send.count(plan.phone) ? last_send[plan.phone] : 0;
    snap.usage = UsageOf(plan.limits, request.now);
    for (const auto& [id, record] : verifications) {
      if (record.client_id == request.client_id && record.phone == plan.phone &&
          record.status == domain::VerificationStatus::kPending) {
        snap.pending.push_back(record);
      }
    }
    domain::VerificationChange change = decide(snap);
    Apply(change, plan.limits, request.now);
    return change;
  });
}

util::Result<domain::ApiAnswer> MemoryVerificationStore::Change(
    const domain::ApiRequest& request, const std::string& public_id,
    const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan,
    const std::function<domain::VerificationChange(const domain::VerificationSnapshot&)>&
        decide) {
  return Once(request, [&] {
    auto it = verifications.find(public_id);
    if (it == verifications.end() || it->second.client_id != request.client_id) {
      domain::VerificationChange refused;
      refused.answer.status =
          util::Error::Make(util::ErrorKind::kNotFound, "not_found", "No such verification.");
      return refused;
    }
    const domain::ChangePlan change_plan = plan(it->second);
    domain::VerificationSnapshot snap;
    snap.record = it->second;
    snap.last_send_to_phone = last_send.count(snap.record.phone) ? last_send[snap.record.phone] : 0;
    snap.usage = UsageOf(change_plan.limits, request.now);
    domain::VerificationChange change = decide(snap);
    Apply(change, change_plan.limits, request.now);
    return change;
  });
}

util::Result<std::optional<domain::VerificationSnapshot>> MemoryVerificationStore::Find(
    int64_t client_id, const std::string& public_id, int64_t now,
    const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan) {
  using Found = std::optional<domain::VerificationSnapshot>;
  auto it = verifications.find(public_id);
  if (it == verifications.end() || it->second.client_id != client_id) return Found();
  domain::VerificationSnapshot snap;
  snap.record = it->second;
  snap.last_send_to_phone = last_send.count(snap.record.phone) ? last_send[snap.record.phone] : 0;
  snap.usage = UsageOf(plan(snap.record).limits, now);
  return Found(std::move(snap));
}

}  // namespace phoneverify::fakes
