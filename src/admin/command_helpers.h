// Internal to src/admin: what the command files share.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "admin/admin.h"
#include "util/status.h"

namespace phoneverify::admin {

// Reports a storage failure on ctx.err and returns kExitUnavailable.
int StorageFailure(Context& ctx, const util::Error& error);

// A --limit style option: an integer from `min` to `max` (po::validation_error otherwise).
boost::program_options::typed_value<int>* Bounded(const char* name, int def, int min, int max);

// ACCOUNT arguments: "id:N", "user:NAME", or a plain number or username. A plain number
// that is both an id and another account's username is refused as ambiguous.
struct AccountLookup {
  std::optional<storage::AdminAccount> account;
  int exit_code = kExitOk;  // when no account: kExitRefused (none), kExitUsage, kExitUnavailable
};
AccountLookup ResolveAccount(Context& ctx, const std::string& text);

// Handlers, one per command (see commands.cpp for the table).
int ListAccounts(Context& ctx, const Vars& vars);
int ShowAccount(Context& ctx, const Vars& vars);
int Deactivate(Context& ctx, const Vars& vars);
int Reactivate(Context& ctx, const Vars& vars);
int UnlockPhone(Context& ctx, const Vars& vars);
int ShowOutbox(Context& ctx, const Vars& vars);
int RetryMessages(Context& ctx, const Vars& vars);
int Purge(Context& ctx, const Vars& vars);
int Stats(Context& ctx, const Vars& vars);
int Credit(Context& ctx, const Vars& vars);
int Client(Context& ctx, const Vars& vars);  // client_commands.cpp: every `client` action

}  // namespace phoneverify::admin
