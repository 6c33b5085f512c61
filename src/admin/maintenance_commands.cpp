// unlock, purge, stats, credit.
#include "admin/command_helpers.h"
#include "admin/format.h"
#include "domain/phone_number.h"
#include "sms/sparrow_credit.h"

namespace phoneverify::admin {
namespace {

constexpr int64_t kDay = 24 * 3600;

void PrintFigures(Context& ctx, const storage::DayFigures& f) {
  std::ostream& out = ctx.out;
  out << "signups: " << f.signups << "\n"
      << "sends: " << f.sends << "\n"
      << "  delivered: " << f.sent << "\n";
  for (const auto& [backend, count] : f.sent_by) {
    out << "    by " << (backend.empty() ? "(not recorded)" : backend) << ": " << count << "\n";
  }
  out << "  failed: " << f.failed << "\n"
      << "  superseded: " << f.superseded << "\n"
      << "  pending: " << f.pending << "\n"
      << "gateway retries: " << f.gateway_retries << "\n"
      << "verifications: " << f.verifications << "\n"
      << "failures by gateway code:" << (f.failures.empty() ? " none" : "") << "\n";
  for (const auto& failure : f.failures) {
    out << "  " << failure.key;
    if (!failure.reason.empty()) out << " (" << failure.reason << ")";
    out << ": " << failure.count << "\n";
  }
}

}  // namespace

int StorageFailure(Context& ctx, const util::Error& error) {
  ctx.err << "phoneverify-admin: database: " << error.details << "\n";
  return kExitUnavailable;
}

boost::program_options::typed_value<int>* Bounded(const char* name, int def, int min, int max) {
  return boost::program_options::value<int>()->default_value(def)->notifier(
      [name, min, max](int value) {
        if (value < min || value > max) {
          throw boost::program_options::validation_error(
              boost::program_options::validation_error::invalid_option_value, name,
              std::to_string(value));
        }
      });
}

int UnlockPhone(Context& ctx, const Vars& vars) {
  const std::string input = vars["phone"].as<std::string>();
  auto phone = domain::PhoneNumber::Parse(input, ctx.config.allowed_prefixes);
  if (!phone.ok()) {
    ctx.err << "phoneverify-admin unlock: " << phone.error().details << "\n";
    return kExitUsage;
  }
  const std::string& national = phone.value().national();
  auto result = ctx.repo.UnlockPhone(national);
  if (!result.ok()) return StorageFailure(ctx, result.error());
  const storage::UnlockResult& r = result.value();
  ctx.out << "unlocked " << ShowPhone(national, vars.count("show-phone") > 0) << ": "
          << r.codes_reset << " code(s) given their attempts back, resend cooldown "
          << (r.cooldown_cleared ? "cleared" : "was not running") << ", " << r.sends_forgotten
          << " send(s) removed from the phone's daily count\n";
  return kExitOk;
}

int Purge(Context& ctx, const Vars& vars) {
  const int days =
      vars.count("retention-days") ? vars["retention-days"].as<int>() : ctx.config.retention_days;
  const int64_t now = ctx.clock.NowSeconds();
  auto counts = ctx.repo.Purge(now, now - days * kDay, ctx.config.session_idle_timeout,
                               ctx.config.session_max_age);
  if (!counts.ok()) return StorageFailure(ctx, counts.error());
  const storage::PurgeCounts& c = counts.value();
  ctx.out << "expired codes: " << c.codes << "\n"
          << "finished outbox rows older than " << days << " days: " << c.outbox << "\n"
          << "limit events older than 24 h: " << c.limit_events << "\n"
          << "expired web sessions: " << c.sessions << "\n";
  return kExitOk;
}

int Stats(Context& ctx, const Vars& vars) {
  const std::string date =
      vars.count("date") ? vars["date"].as<std::string>() : LocalDate(ctx.clock.NowSeconds());
  const auto day = LocalDay(date);
  if (!day) {
    ctx.err << "phoneverify-admin stats: --date must be a day as YYYY-MM-DD\n";
    return kExitUsage;
  }
  auto figures = ctx.repo.Figures(day->first, day->second);
  if (!figures.ok()) return StorageFailure(ctx, figures.error());
  ctx.out << "figures for " << date << " (local time, UTC" << LocalOffset(day->first) << ")\n";
  PrintFigures(ctx, figures.value());
  return kExitOk;
}

int Credit(Context& ctx, const Vars& /*vars*/) {
  if (ctx.config.sparrow_token.empty()) {
    ctx.err << "phoneverify-admin credit: sparrow_token is not set\n";
    return kExitUsage;
  }
  auto credit = sms::QuerySparrowCredit(ctx.config.sparrow_credit_url, ctx.config.sparrow_token,
                                        ctx.config.sparrow_timeout);
  if (!credit.ok()) {
    const util::Error& e = credit.error();
    ctx.err << "phoneverify-admin credit: " << ctx.config.sparrow_credit_url << ": " << e.details
            << "\n";
    return e.kind == util::ErrorKind::kUnavailable ? kExitUnavailable : kExitRefused;
  }
  ctx.out << "credits available: " << credit.value().credits_available << "\n";
  for (const auto& [name, value] : credit.value().details) {
    ctx.out << name << ": " << value << "\n";
  }
  return kExitOk;
}

}  // namespace phoneverify::admin
