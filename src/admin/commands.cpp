// The command table: name, synopsis, help and handler of every phoneverify-admin command.
#include "admin/command_helpers.h"

namespace phoneverify::admin {
namespace {

namespace po = boost::program_options;
using Options = po::options_description;
using Positional = po::positional_options_description;

void AccountArgument(Options& o, Positional& p) {
  o.add_options()("account", po::value<std::string>()->required(),
                  "id:N, user:NAME, or a plain id or username");
  p.add("account", 1);
}

void ShowPhoneOption(Options& o) {
  o.add_options()("show-phone", "print phone numbers in full (default: masked 98******78)");
}

std::vector<Command> BuildCommands() {
  return {
      {"accounts", "[--inactive] [--unverified] [--limit N] [--after ID] [--show-phone]",
       "List accounts, oldest first",
       "One line per account: id, username, email, phone (the verified one, else the one\n"
       "given at sign-up, marked unverified), whether verified and active, when it joined\n"
       "and last logged in. Page with --after <last id shown>.\n",
       [](Options& o, Positional&) {
         o.add_options()("inactive", "only deactivated accounts")(
             "unverified", "only accounts without a verified phone")(
             "limit", Bounded("limit", 50, 1, 100000), "at most N accounts")(
             "after", po::value<int64_t>()->default_value(0), "only accounts with id > ID");
         ShowPhoneOption(o);
       },
       ListAccounts},
      {"account", "ACCOUNT [--show-phone]", "Show one account, its codes and recent SMS",
       "Everything about one account: profile, state, API token count, its current codes\n"
       "per phone (pending, locked, expired or verified; attempts) and its 5 latest messages.\n",
       [](Options& o, Positional& p) {
         AccountArgument(o, p);
         ShowPhoneOption(o);
       },
       ShowAccount},
      {"deactivate", "ACCOUNT", "Deactivate an account",
       "The account can no longer log in (401 invalid_credentials) and its API tokens are\n"
       "revoked at once, its web sessions ended, its undelivered SMS cancelled (failed,\n"
       "\"account deactivated\"). Data is kept; reactivate undoes the block (not the\n"
       "revocations: the user logs in again). Deactivating an inactive account changes\n"
       "nothing and exits 0.\n",
       AccountArgument, Deactivate},
      {"reactivate", "ACCOUNT", "Reactivate a deactivated account",
       "The account can log in again. Reactivating an active account changes nothing.\n",
       AccountArgument, Reactivate},
      {"unlock", "PHONE [--show-phone]", "Clear a phone's attempts and cooldowns",
       "For the phone (any accepted format): every unused code for it gets its wrong-guess\n"
       "attempts back (a locked code works again until it expires), the resend cooldown\n"
       "ends, and the phone's sends of the last 24 h stop counting against\n"
       "otp_max_sends_per_day. Per-account and per-IP limits are not touched.\n",
       [](Options& o, Positional& p) {
         o.add_options()("phone", po::value<std::string>()->required(), "the phone number");
         p.add("phone", 1);
         ShowPhoneOption(o);
       },
       UnlockPhone},
      {"outbox", "[--failed [--hours N]] [--limit N] [--show-phone]",
       "Show pending (or recently failed) SMS",
       "Without --failed: messages queued, waiting for a retry, or being sent, oldest first,\n"
       "with their tries, next attempt, expiry and last gateway error. With --failed:\n"
       "messages that failed for good in the last N hours, newest first.\n",
       [](Options& o, Positional&) {
         o.add_options()("failed", "list failed messages instead")(
             "hours", Bounded("hours", 24, 1, 24 * 366), "with --failed: look back N hours")(
             "limit", Bounded("limit", 100, 1, 100000), "at most N messages");
         ShowPhoneOption(o);
       },
       ShowOutbox},
      {"retry", "ID... | --all [--hours N]", "Retry messages",
       "A message waiting for its next try (state queued or retry) is made due now: the\n"
       "dispatcher sends the same code at once.\n"
       "A message that failed for good cannot be sent again: its text, which holds the\n"
       "code, is erased when it fails and the code is stored only as a hash. For such a\n"
       "message, while its code is still the account's current, unverified code for that\n"
       "phone, retry does what can be done: it ends the phone's resend cooldown and takes\n"
       "the failed send off the per-phone, per-account and budget counts, so the user can\n"
       "ask for a new code at once (send-otp or the Resend button). It does this once per\n"
       "message. Messages delivered, superseded by a newer code, or being sent are left\n"
       "alone.\n"
       "--all: every message failed in the last N hours and every message waiting for a\n"
       "retry. Exit status with IDs: 0 when each was retried, 1 when any was not.\n",
       [](Options& o, Positional& p) {
         o.add_options()("id", po::value<std::vector<int64_t>>()->multitoken(), "message ids")(
             "all", "every retryable message")("hours", Bounded("hours", 24, 1, 24 * 366),
                                               "with --all: failed in the last N hours");
         p.add("id", -1);
       },
       RetryMessages},
      {"purge", "[--retention-days N]", "Delete expired and old data",
       "Deletes, in batches of 1000 rows: codes past their expiry (they can no longer be\n"
       "used; GET /api/v1/phone/otp then answers otp_not_requested for them), web sessions\n"
       "past their expiry (when the sessions table exists; otherwise skipped), finished SMS\n"
       "(sent, failed, superseded) older than retention_days (config, default 30; the\n"
       "dispatcher also prunes these continuously) and rate-limit events older than 24 h.\n"
       "Safe to run while the service runs, e.g. daily from cron or a systemd timer.\n",
       [](Options& o, Positional&) {
         o.add_options()("retention-days", po::value<int>(),
                         "keep finished SMS this many days (default: retention_days)");
       },
       Purge},
      {"stats", "[--date YYYY-MM-DD]", "Print a day's figures",
       "For one local calendar day (default today): sign-ups; code sends accepted and\n"
       "what became of them (delivered, and by which backend of sms_backend; failed,\n"
       "superseded by a newer code, still pending); extra gateway attempts after transient failures; phones verified; and\n"
       "the failed messages by gateway code (e.g. \"sparrow 1007\", \"http 500\", \"expired\").\n"
       "Sends are counted on the day they were requested. Days older than retention_days\n"
       "have lost their SMS rows to purging.\n",
       [](Options& o, Positional&) {
         o.add_options()("date", po::value<std::string>(), "the day (default: today)");
       },
       Stats},
      {"credit", "", "Ask Sparrow for the remaining SMS credit",
       "GETs sparrow_credit_url (default: /v2/credit/ on sparrow_url's host) with the\n"
       "configured sparrow_token and prints the credits available. The token is never\n"
       "printed.\n",
       [](Options&, Positional&) {}, Credit},
      {"client",
       "create|list|show|update|rotate-key|disable|enable [NAME] [OPTIONS]",
       "Manage API clients of the verification API",
       "Sites that keep their own users call /api/v1/verifications with an API key.\n"
       "  client create NAME [SETTINGS]   prints id, api_key (pvk_..., shown only now:\n"
       "                                  only its hash is stored) and webhook_secret\n"
       "                                  (whsec_..., signs the webhooks)\n"
       "  client list                     every client\n"
       "  client show NAME                settings, webhook state, webhook_secret\n"
       "  client update NAME SETTINGS     an empty value (--brand \"\") unsets a setting;\n"
       "                                  --webhook-url also turns a webhook disabled by a\n"
       "                                  410 Gone back on\n"
       "  client rotate-key NAME [--grace S]\n"
       "                                  a new api_key; the previous one keeps working S\n"
       "                                  seconds (default 86400), older ones stop\n"
       "  client disable NAME / enable NAME\n"
       "                                  a disabled client's key gets 401\n"
       "Unset settings follow the configuration (otp_length, otp_ttl, otp_max_attempts);\n"
       "--max-sends-per-day caps the client's own SMS in any 24 h (unset or 0: no cap).\n"
       "Output is one 'key: value' per line (list: a table). NAME: 1 to 64 letters,\n"
       "digits, '_', '.' or '-'. Needs outbox_key (it seals the webhook secret).\n",
       [](Options& o, Positional& p) {
         o.add_options()("action", po::value<std::string>()->required(),
                         "create, list, show, update, rotate-key, disable or enable")(
             "name", po::value<std::string>(), "the client's name")(
             "webhook-url", po::value<std::string>(),
             "http(s) URL the webhooks are POSTed to (at most 2048 characters)")(
             "brand", po::value<std::string>(),
             "name the SMS starts with (at most 20 GSM-7 characters; default phoneverify)")(
             "code-length", po::value<std::string>(), "digits in a code (4 to 10)")(
             "ttl", po::value<std::string>(), "seconds a code stays valid (>= 1)")(
             "max-attempts", po::value<std::string>(),
             "wrong guesses before a code is burned (0: unlimited)")(
             "max-sends-per-day", po::value<std::string>(),
             "the client's own SMS in any 24 h (0: no cap)")(
             "grace", po::value<std::string>(),
             "rotate-key: seconds the previous key keeps working (default 86400)");
         p.add("action", 1).add("name", 1);
       },
       Client},
  };
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = BuildCommands();
  return commands;
}

}  // namespace phoneverify::admin
