// domain::VerificationStore in memory, for unit tests of ApiVerificationService on a fake
// clock: the same contract as storage::MysqlVerificationStore (answers kept per client,
// request and key; refusals write nothing; limits and the phone's latest send shared by
// every client). Not thread-safe.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "domain/verification_store.h"

namespace phoneverify::fakes {

class MemoryVerificationStore final : public domain::VerificationStore {
 public:
  util::Result<domain::ApiAnswer> Start(
      const domain::ApiRequest& request, const domain::StartPlan& plan,
      const std::function<domain::VerificationChange(const domain::StartSnapshot&)>& decide)
      override;
  util::Result<domain::ApiAnswer> Change(
      const domain::ApiRequest& request, const std::string& public_id,
      const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan,
      const std::function<domain::VerificationChange(const domain::VerificationSnapshot&)>&
          decide) override;
  util::Result<std::optional<domain::VerificationSnapshot>> Find(
      int64_t client_id, const std::string& public_id, int64_t now,
      const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan)
      override;

  // What tests look at.
  std::map<std::string, domain::VerificationRecord> verifications;  // by public id
  std::vector<domain::NewMessage> messages;                         // every SMS queued
  std::vector<domain::NewEvent> events;                             // every event stored
  std::map<std::string, int64_t> last_send;                         // phone -> latest send
  std::vector<std::tuple<std::string, std::string, int64_t>> limit_events;  // scope, key, at
  int writes = 0;  // changes applied

 private:
  using AnswerKey = std::tuple<int64_t, std::string, std::string>;
  util::Result<domain::ApiAnswer> Once(const domain::ApiRequest& request,
                                       const std::function<domain::VerificationChange()>& run);
  std::vector<domain::WindowUsage> UsageOf(const std::vector<domain::WindowLimit>& limits,
                                           int64_t now) const;
  void Apply(domain::VerificationChange& change, const std::vector<domain::WindowLimit>& limits,
             int64_t now);

  std::map<AnswerKey, domain::ApiAnswer> answers_;
  int64_t next_id_ = 1;
};

}  // namespace phoneverify::fakes
