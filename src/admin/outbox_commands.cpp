// outbox, retry.
#include "admin/command_helpers.h"
#include "admin/format.h"

namespace phoneverify::admin {
namespace {

constexpr int64_t kHour = 3600;
constexpr int kAllLimit = 10'000;  // retry --all handles at most this many per run

void PrintMessages(Context& ctx, const std::vector<storage::AdminMessage>& messages,
                   bool show_phone) {
  const int64_t now = ctx.clock.NowSeconds();
  Table table(
      {"ID", "ACCOUNT", "PHONE", "STATE", "TRIES", "CREATED", "NEXT TRY", "EXPIRES", "ERROR"});
  for (const auto& m : messages) {
    const bool waiting = m.state == "queued" || m.state == "retry";
    table.Add({std::to_string(m.id), std::to_string(m.account_id), ShowPhone(m.phone, show_phone),
               m.state, std::to_string(m.tries), FormatTime(m.created_at),
               waiting ? Relative(m.next_attempt_at, now) : "-", Relative(m.expires_at, now),
               m.last_error.empty() ? "-" : m.last_error});
  }
  table.Print(ctx.out);
}

const char* Verb(storage::RetryKind kind) {
  switch (kind) {
    case storage::RetryKind::kRequeued:
      return "requeued";
    case storage::RetryKind::kResendAllowed:
      return "resend allowed";
    case storage::RetryKind::kNotApplicable:
      return "not retried";
    case storage::RetryKind::kNotFound:
      return "not found";
  }
  return "?";
}

// Retries one message and reports it; true when something was done.
bool RetryOne(Context& ctx, int64_t id, bool* storage_failed) {
  auto outcome = ctx.repo.Retry(id, ctx.clock.NowSeconds());
  if (!outcome.ok()) {
    StorageFailure(ctx, outcome.error());
    *storage_failed = true;
    return false;
  }
  const storage::RetryOutcome& o = outcome.value();
  ctx.out << "message " << id << ": " << Verb(o.kind);
  if (o.kind != storage::RetryKind::kNotFound) {
    ctx.out << " (" << ShowPhone(o.message.phone, false) << ", " << o.message.state
            << "): " << o.reason;
  }
  ctx.out << "\n";
  return o.kind == storage::RetryKind::kRequeued || o.kind == storage::RetryKind::kResendAllowed;
}

// The ids `retry --all` looks at: failed in the window, and waiting to be retried.
util::Result<std::vector<int64_t>> AllRetryable(Context& ctx, int hours) {
  std::vector<int64_t> ids;
  auto failed = ctx.repo.FailedMessages(ctx.clock.NowSeconds() - hours * kHour, kAllLimit);
  if (!failed.ok()) return failed.error();
  for (const auto& m : failed.value()) ids.push_back(m.id);
  auto pending = ctx.repo.PendingMessages(kAllLimit);
  if (!pending.ok()) return pending.error();
  for (const auto& m : pending.value()) {
    if (m.state == "retry") ids.push_back(m.id);
  }
  return ids;
}

}  // namespace

int ShowOutbox(Context& ctx, const Vars& vars) {
  const bool failed = vars.count("failed") > 0;
  const int limit = vars["limit"].as<int>();
  const int hours = vars["hours"].as<int>();
  auto rows = failed ? ctx.repo.FailedMessages(ctx.clock.NowSeconds() - hours * kHour, limit)
                     : ctx.repo.PendingMessages(limit);
  if (!rows.ok()) return StorageFailure(ctx, rows.error());
  PrintMessages(ctx, rows.value(), vars.count("show-phone") > 0);
  ctx.out << rows.value().size()
          << (failed ? " failed message(s) in the last " + std::to_string(hours) + " h"
                     : std::string(" pending message(s)"))
          << "\n";
  return kExitOk;
}

int RetryMessages(Context& ctx, const Vars& vars) {
  const bool all = vars.count("all") > 0;
  std::vector<int64_t> ids;
  if (vars.count("id")) ids = vars["id"].as<std::vector<int64_t>>();
  if (all == !ids.empty()) {
    ctx.err << "phoneverify-admin retry: name message ids or give --all (not both)\n";
    return kExitUsage;
  }
  if (all) {
    auto found = AllRetryable(ctx, vars["hours"].as<int>());
    if (!found.ok()) return StorageFailure(ctx, found.error());
    ids = found.value();
  }
  int done = 0;
  bool storage_failed = false;
  for (int64_t id : ids) {
    if (RetryOne(ctx, id, &storage_failed)) ++done;
    if (storage_failed) return kExitUnavailable;
  }
  ctx.out << done << " of " << ids.size() << " message(s) retried\n";
  if (all) return kExitOk;
  return done == static_cast<int>(ids.size()) ? kExitOk : kExitRefused;
}

}  // namespace phoneverify::admin
