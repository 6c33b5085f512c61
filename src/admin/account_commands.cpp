// accounts, account, deactivate, reactivate.
#include <algorithm>

#include "admin/command_helpers.h"
#include "admin/format.h"
#include "domain/account_service.h"
#include "util/text.h"

namespace phoneverify::admin {
namespace {

constexpr int kRecentMessages = 5;

std::optional<int64_t> ParseId(const std::string& s) {
  if (!util::IsAsciiDigits(s) || s.size() > 18) return std::nullopt;
  return std::stoll(s);
}

// The phone column: the verified phone, else the one given at sign-up, marked.
std::string PhoneCell(const domain::Account& a, bool show) {
  if (a.phone) return ShowPhone(*a.phone, show);
  if (!a.pending_phone.empty()) return ShowPhone(a.pending_phone, show) + " (unverified)";
  return "-";
}

std::string CodeState(const storage::AdminCode& code, int64_t now) {
  if (code.consumed) return "verified";
  if (code.max_attempts > 0 && code.attempts_used >= code.max_attempts) return "locked";
  if (code.expires_at <= now) return "expired";
  return "pending";
}

void PrintAccount(Context& ctx, const storage::AdminAccount& row, bool show_phone) {
  const domain::Account& a = row.account;
  std::ostream& out = ctx.out;
  out << "id:             " << a.id << "\n"
      << "username:       " << a.username << "\n"
      << "email:          " << (a.email.empty() ? "-" : a.email) << "\n"
      << "name:           "
      << (a.first_name + " " + a.last_name == " " ? "-" : a.first_name + " " + a.last_name) << "\n"
      << "active:         " << YesNo(a.is_active) << "\n"
      << "phone:          " << (a.phone ? ShowPhone(*a.phone, show_phone) : "-") << "\n"
      << "phone verified: " << YesNo(a.phone_verified)
      << (row.phone_verified_at ? " (" + FormatTime(row.phone_verified_at) + ")" : "") << "\n"
      << "pending phone:  " << ShowPhone(a.pending_phone, show_phone) << "\n"
      << "joined:         " << FormatTime(a.date_joined) << "\n"
      << "last login:     " << FormatTime(row.last_login) << "\n"
      << "api tokens:     " << row.tokens << "\n";
}

void PrintCodes(Context& ctx, const std::vector<storage::AdminCode>& codes, bool show_phone) {
  ctx.out << "\ncodes:" << (codes.empty() ? " none" : "") << "\n";
  if (codes.empty()) return;
  const int64_t now = ctx.clock.NowSeconds();
  Table table({"PHONE", "STATE", "ATTEMPTS", "SENT", "EXPIRES", "DELIVERY"});
  for (const auto& code : codes) {
    const std::string attempts =
        std::to_string(code.attempts_used) + "/" +
        (code.max_attempts > 0 ? std::to_string(code.max_attempts) : "unlimited");
    table.Add({ShowPhone(code.phone, show_phone), CodeState(code, now), attempts,
               FormatTime(code.created_at), Relative(code.expires_at, now),
               code.delivery_state.empty() ? "-" : code.delivery_state});
  }
  table.Print(ctx.out);
}

void PrintMessages(Context& ctx, const std::vector<storage::AdminMessage>& messages,
                   bool show_phone) {
  ctx.out << "\nrecent messages:" << (messages.empty() ? " none" : "") << "\n";
  if (messages.empty()) return;
  Table table({"ID", "PHONE", "STATE", "TRIES", "CREATED", "ERROR"});
  for (const auto& m : messages) {
    table.Add({std::to_string(m.id), ShowPhone(m.phone, show_phone), m.state,
               std::to_string(m.tries), FormatTime(m.created_at),
               m.last_error.empty() ? "-" : m.last_error});
  }
  table.Print(ctx.out);
}

int SetActive(Context& ctx, const Vars& vars, bool active) {
  AccountLookup found = ResolveAccount(ctx, vars["account"].as<std::string>());
  if (!found.account) return found.exit_code;
  const domain::Account& a = found.account->account;
  auto change = ctx.repo.SetActive(a.id, active);
  if (!change.ok()) return StorageFailure(ctx, change.error());
  const std::string who = "account " + std::to_string(a.id) + " (" + a.username + ")";
  if (!change.value().changed) {
    ctx.out << who << " is already " << (active ? "active" : "inactive") << "\n";
    return kExitOk;
  }
  if (active) {
    ctx.out << "reactivated " << who << ": the user can log in again (old tokens stay revoked)\n";
    return kExitOk;
  }
  const storage::ActivationChange& c = change.value();
  ctx.out << "deactivated " << who << ": logins refused; revoked " << c.tokens_revoked
          << " API token(s), ended " << c.sessions_ended << " web session(s), cancelled "
          << c.messages_cancelled << " undelivered SMS\n";
  return kExitOk;
}

}  // namespace

AccountLookup ResolveAccount(Context& ctx, const std::string& text) {
  AccountLookup lookup;
  std::optional<storage::AdminAccount> by_id;
  std::optional<storage::AdminAccount> by_name;
  const bool id_only = text.rfind("id:", 0) == 0;
  const bool name_only = text.rfind("user:", 0) == 0;
  const std::string value = id_only ? text.substr(3) : name_only ? text.substr(5) : text;
  if (!name_only) {
    const std::optional<int64_t> id = ParseId(value);
    if (!id && id_only) {
      ctx.err << "phoneverify-admin: '" << text << "' is not an account id\n";
      lookup.exit_code = kExitUsage;
      return lookup;
    }
    if (id) {
      auto found = ctx.repo.FindAccount(*id);
      if (!found.ok()) return {std::nullopt, StorageFailure(ctx, found.error())};
      by_id = found.value();
    }
  }
  if (!id_only) {
    auto found = ctx.repo.FindAccountByUsernameKey(domain::AccountService::UsernameKey(value));
    if (!found.ok()) return {std::nullopt, StorageFailure(ctx, found.error())};
    by_name = found.value();
  }
  if (by_id && by_name && by_id->account.id != by_name->account.id) {
    ctx.err << "phoneverify-admin: '" << text << "' is account " << by_id->account.id
            << "'s id and account " << by_name->account.id << "'s username; say id:" << value
            << " or user:" << value << "\n";
    lookup.exit_code = kExitUsage;
    return lookup;
  }
  lookup.account = by_id ? by_id : by_name;
  if (!lookup.account) {
    ctx.err << "phoneverify-admin: no account '" << text << "'\n";
    lookup.exit_code = kExitRefused;
  }
  return lookup;
}

int ListAccounts(Context& ctx, const Vars& vars) {
  storage::AccountFilter filter;
  filter.only_inactive = vars.count("inactive") > 0;
  filter.only_unverified = vars.count("unverified") > 0;
  filter.limit = vars["limit"].as<int>();
  filter.after_id = vars["after"].as<int64_t>();
  const bool show = vars.count("show-phone") > 0;
  auto rows = ctx.repo.ListAccounts(filter);
  if (!rows.ok()) return StorageFailure(ctx, rows.error());
  Table table({"ID", "USERNAME", "EMAIL", "PHONE", "VERIFIED", "ACTIVE", "JOINED", "LAST LOGIN"});
  for (const auto& row : rows.value()) {
    const domain::Account& a = row.account;
    table.Add({std::to_string(a.id), a.username, a.email.empty() ? "-" : a.email,
               PhoneCell(a, show), YesNo(a.phone_verified), YesNo(a.is_active),
               FormatTime(a.date_joined), FormatTime(row.last_login)});
  }
  table.Print(ctx.out);
  ctx.out << table.size() << " account(s)";
  if (static_cast<int>(table.size()) == filter.limit) {
    ctx.out << "; more with --after " << rows.value().back().account.id;
  }
  ctx.out << "\n";
  return kExitOk;
}

int ShowAccount(Context& ctx, const Vars& vars) {
  AccountLookup found = ResolveAccount(ctx, vars["account"].as<std::string>());
  if (!found.account) return found.exit_code;
  const bool show = vars.count("show-phone") > 0;
  const int64_t id = found.account->account.id;
  auto codes = ctx.repo.CodesOf(id);
  if (!codes.ok()) return StorageFailure(ctx, codes.error());
  auto messages = ctx.repo.MessagesOf(id, kRecentMessages);
  if (!messages.ok()) return StorageFailure(ctx, messages.error());
  PrintAccount(ctx, *found.account, show);
  PrintCodes(ctx, codes.value(), show);
  PrintMessages(ctx, messages.value(), show);
  return kExitOk;
}

int Deactivate(Context& ctx, const Vars& vars) { return SetActive(ctx, vars, false); }
int Reactivate(Context& ctx, const Vars& vars) { return SetActive(ctx, vars, true); }

}  // namespace phoneverify::admin
