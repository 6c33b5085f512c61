// client create|list|show|update|rotate-key|disable|enable: API clients of the
// verification API (contract section 7).
#include <algorithm>
#include <cctype>
#include <functional>

#include "admin/command_helpers.h"
#include "admin/format.h"
#include "domain/api_client.h"
#include "domain/sms_text.h"
#include "util/crypto.h"
#include "util/text.h"
#include "util/webhook_signature.h"

namespace phoneverify::admin {
namespace {

constexpr size_t kApiKeyBytes = 32;         // 256 bits, as 64 hex characters
constexpr size_t kWebhookSecretBytes = 32;  // the HMAC-SHA256 key
constexpr size_t kMaxNameChars = 64;        // api_clients.name
constexpr size_t kMaxWebhookUrlChars = 2048;
constexpr int64_t kMaxSeconds = 1'000'000'000;  // as otp_ttl: keeps the SMS wording short
constexpr int64_t kMaxCount = 1'000'000'000;

// A usage problem: the message for ctx.err (after "phoneverify-admin client: ").
using Problem = std::optional<std::string>;

int Usage(Context& ctx, const std::string& message) {
  ctx.err << "phoneverify-admin client: " << message << "\n"
          << "Try 'phoneverify-admin client --help'.\n";
  return kExitUsage;
}

int NoSuchClient(Context& ctx, const std::string& name) {
  ctx.err << "phoneverify-admin client: no client '" << name << "'\n";
  return kExitRefused;
}

Problem CheckName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= kMaxNameChars &&
                  std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
                  });
  if (ok) return std::nullopt;
  return "NAME must be 1 to " + std::to_string(kMaxNameChars) +
         " letters, digits, '_', '.' or '-' (got '" + name.substr(0, kMaxNameChars + 1) + "')";
}

// An absolute http(s) URL: the webhook POSTs go there (the column is ASCII).
Problem CheckWebhookUrl(const std::string& url) {
  const std::string problem = "--webhook-url must be an absolute http:// or https:// URL of at "
                              "most " + std::to_string(kMaxWebhookUrlChars) +
                              " characters, without spaces or control characters";
  const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || url.size() > kMaxWebhookUrlChars) return problem;
  const bool clean = std::all_of(url.begin(), url.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f;
  });
  const size_t host_end = url.find_first_of("/?#", scheme);
  const std::string authority = url.substr(scheme, host_end - scheme);
  if (!clean || authority.empty() || authority[0] == ':' || authority[0] == '@') return problem;
  return std::nullopt;
}

// "--flag must be an integer from MIN to MAX" unless `text` is one.
Problem ReadInt(const std::string& flag, const std::string& text, int64_t min, int64_t max,
                int64_t& out) {
  const std::string problem = "--" + flag + " must be an integer from " + std::to_string(min) +
                              " to " + std::to_string(max) + " (got '" + text.substr(0, 32) +
                              "')";
  if (!util::IsAsciiDigits(text) || text.size() > 10) return problem;
  out = std::stoll(text);
  if (out < min || out > max) return problem;
  return std::nullopt;
}

// An integer setting flag: absent (left alone), "" (unset), or a number in [min, max].
template <typename T>
Problem ReadIntSetting(const Vars& vars, const std::string& flag, int64_t min, int64_t max,
                       std::optional<std::optional<T>>& out) {
  if (!vars.count(flag)) return std::nullopt;
  const std::string text = vars[flag].as<std::string>();
  if (text.empty()) {
    out.emplace(std::nullopt);  // given empty: unset
    return std::nullopt;
  }
  int64_t value = 0;
  if (Problem problem = ReadInt(flag, text, min, max, value)) return problem;
  out.emplace(static_cast<T>(value));
  return std::nullopt;
}

Problem ReadTextSettings(const Vars& vars, storage::ApiClientUpdate& update) {
  if (vars.count("brand")) {
    const std::string brand = vars["brand"].as<std::string>();
    if (brand.empty()) {
      update.brand.emplace(std::nullopt);  // given empty: unset
    } else if (util::Status st = domain::CheckBrand(brand); !st.ok()) {
      return "--brand " + st.error().details;
    } else {
      update.brand.emplace(brand);
    }
  }
  if (vars.count("webhook-url")) {
    const std::string url = vars["webhook-url"].as<std::string>();
    if (!url.empty()) {
      if (Problem problem = CheckWebhookUrl(url)) return problem;
    }
    update.webhook_url = url;
  }
  return std::nullopt;
}

// The setting flags given (create and update); "" unsets one.
Problem ReadSettings(const Vars& vars, storage::ApiClientUpdate& update) {
  if (Problem p = ReadTextSettings(vars, update)) return p;
  if (Problem p = ReadIntSetting(vars, "code-length", 4, 10, update.code_length)) return p;
  if (Problem p = ReadIntSetting(vars, "ttl", 1, kMaxSeconds, update.ttl)) return p;
  if (Problem p = ReadIntSetting(vars, "max-attempts", 0, kMaxCount, update.max_attempts)) {
    return p;
  }
  return ReadIntSetting(vars, "max-sends-per-day", 0, kMaxCount, update.max_sends_per_day);
}

constexpr const char* kSettingFlags[] = {"webhook-url",  "brand",
                                         "code-length",  "ttl",
                                         "max-attempts", "max-sends-per-day"};

bool HasSettings(const Vars& vars) {
  return std::any_of(std::begin(kSettingFlags), std::end(kSettingFlags),
                     [&](const char* flag) { return vars.count(flag) > 0; });
}

// ---- output ---------------------------------------------------------------------------

// "6 (default)" for an unset setting: what the configuration gives it now.
template <typename T>
std::string Setting(const std::optional<T>& value, int64_t config_value) {
  if (value) return std::to_string(*value);
  return std::to_string(config_value) + " (default)";
}

std::string WebhookState(const storage::ApiClientRecord& r) {
  if (r.client.webhook_url.empty()) return "none";
  if (r.webhook_disabled_at != 0) {
    // `client update NAME --webhook-url URL` turns it back on (see --help).
    return "off (410 Gone at " + FormatTime(r.webhook_disabled_at) + ")";
  }
  return "on";
}

// Counts where 0 switches the limit off.
std::string CountSetting(const std::optional<int>& value, int config_value, const char* off) {
  if (value) return std::to_string(*value) + (*value == 0 ? std::string(" (") + off + ")" : "");
  return std::to_string(config_value) + " (default" +
         (config_value == 0 ? std::string(": ") + off : "") + ")";
}

void PrintSettings(Context& ctx, const storage::ApiClientRecord& r) {
  const domain::ApiClient& c = r.client;
  const util::Config& config = ctx.config;
  ctx.out << "brand: " << (c.brand ? *c.brand : std::string(domain::kDefaultBrand) + " (default)")
          << "\n"
          << "code_length: " << Setting(c.code_length, config.otp_length) << "\n"
          << "ttl: " << Setting(c.ttl, config.otp_ttl) << "\n"
          << "max_attempts: " << CountSetting(c.max_attempts, config.otp_max_attempts, "unlimited")
          << "\n"
          << "max_sends_per_day: " << CountSetting(c.max_sends_per_day, 0, "no cap of its own")
          << "\n"
          << "webhook_url: " << (c.webhook_url.empty() ? "-" : c.webhook_url) << "\n"
          << "webhook: " << WebhookState(r) << "\n"
          << "disabled: " << YesNo(c.disabled) << "\n";
}

// What became of the client's webhook events (kept for retention_days).
void PrintDeliveries(Context& ctx, const storage::ApiClientRecord& r) {
  if (ctx.webhooks == nullptr || r.client.webhook_url.empty()) return;
  auto state = ctx.webhooks->ClientState(r.client.id);
  if (!state.ok()) return;  // the settings above are what `show` is for
  const domain::WebhookClientState& s = state.value();
  ctx.out << "webhook_events: " << s.pending << " pending, " << s.delivered << " delivered, "
          << s.dropped << " dropped\n";
  if (!s.last_error.empty()) ctx.out << "webhook_last_error: " << s.last_error << "\n";
}

void PrintTimes(Context& ctx, const storage::ApiClientRecord& r) {
  const int64_t now = ctx.clock.NowSeconds();
  if (r.old_key_until > now) {
    ctx.out << "previous_key: works until " << FormatTime(r.old_key_until) << " ("
            << Relative(r.old_key_until, now) << ")\n";
  }
  ctx.out << "created: " << FormatTime(r.created_at) << "\n"
          << "updated: " << FormatTime(r.updated_at) << "\n";
}

// The signing secret, opened with the outbox key it was sealed with.
std::string SecretText(Context& ctx, const storage::ApiClientRecord& r) {
  std::optional<std::string> secret =
      util::Open(ctx.config.outbox_key_bytes, r.webhook_secret_sealed);
  if (!secret) return "(cannot be opened: sealed with another outbox_key)";
  return *secret;
}

// ---- actions --------------------------------------------------------------------------

// The name argument of the actions that take one, checked.
std::optional<std::string> NameOf(Context& ctx, const Vars& vars, const std::string& action,
                                  int* exit_code) {
  if (!vars.count("name")) {
    *exit_code = Usage(ctx, action + " needs NAME");
    return std::nullopt;
  }
  const std::string name = vars["name"].as<std::string>();
  if (Problem problem = CheckName(name)) {
    *exit_code = Usage(ctx, *problem);
    return std::nullopt;
  }
  return name;
}

bool OutboxKeyMissing(Context& ctx) {
  if (ctx.config.outbox_key_bytes.size() == util::kKeyBytes) return false;
  ctx.err << "phoneverify-admin client: outbox_key is not set: it seals the webhook signing "
             "secret (run as the user that owns <var_dir>/secrets.conf)\n";
  return true;
}

std::string NewApiKey(util::Random& random) {
  return std::string(domain::kApiKeyPrefix) + random.Hex(kApiKeyBytes);
}

// A new client's settings: what the flags set ("" and absent leave a setting unset).
domain::ApiClient NewSettings(const std::string& name, const storage::ApiClientUpdate& flags) {
  domain::ApiClient c;
  c.name = name;
  c.brand = flags.brand.value_or(std::nullopt);
  c.code_length = flags.code_length.value_or(std::nullopt);
  c.ttl = flags.ttl.value_or(std::nullopt);
  c.max_attempts = flags.max_attempts.value_or(std::nullopt);
  c.max_sends_per_day = flags.max_sends_per_day.value_or(std::nullopt);
  c.webhook_url = flags.webhook_url.value_or("");
  return c;
}

int RefusedOrFailed(Context& ctx, const util::Error& error) {
  if (error.kind != util::ErrorKind::kConflict) return StorageFailure(ctx, error);
  ctx.err << "phoneverify-admin client: " << error.details << "\n";
  return kExitRefused;
}

int Create(Context& ctx, const Vars& vars, const std::string& name) {
  storage::ApiClientUpdate flags;
  if (Problem problem = ReadSettings(vars, flags)) return Usage(ctx, *problem);
  if (OutboxKeyMissing(ctx)) return kExitUsage;
  storage::NewApiClient in;
  in.client = NewSettings(name, flags);
  const std::string key = NewApiKey(ctx.random);
  const std::string secret = util::FormatWebhookSecret(ctx.random.Bytes(kWebhookSecretBytes));
  in.key_hash = util::Hash(key);  // the key itself is never stored
  in.webhook_secret_sealed = util::Seal(ctx.config.outbox_key_bytes, secret);
  in.now = ctx.clock.NowSeconds();
  auto created = ctx.clients.Create(in);
  if (!created.ok()) return RefusedOrFailed(ctx, created.error());
  const storage::ApiClientRecord& r = created.value();
  ctx.out << "id: " << r.client.id << "\n"
          << "name: " << r.client.name << "\n"
          << "api_key: " << key << "\n"
          << "webhook_secret: " << secret << "\n";
  PrintSettings(ctx, r);
  ctx.err << "The api_key is shown only now (only its hash is stored): keep it. "
             "'client show' prints the webhook secret again.\n";
  return kExitOk;
}

int List(Context& ctx) {
  auto rows = ctx.clients.List();
  if (!rows.ok()) return StorageFailure(ctx, rows.error());
  Table table({"ID", "NAME", "DISABLED", "WEBHOOK", "BRAND", "CREATED"});
  for (const storage::ApiClientRecord& r : rows.value()) {
    const std::string webhook = WebhookState(r);
    table.Add({std::to_string(r.client.id), r.client.name, YesNo(r.client.disabled),
               webhook.substr(0, webhook.find(' ')), r.client.brand.value_or("-"),
               FormatTime(r.created_at)});
  }
  table.Print(ctx.out);
  ctx.out << table.size() << " client(s)\n";
  return kExitOk;
}

int Show(Context& ctx, const std::string& name) {
  auto found = ctx.clients.FindByName(name);
  if (!found.ok()) return StorageFailure(ctx, found.error());
  if (!found.value()) return NoSuchClient(ctx, name);
  const storage::ApiClientRecord& r = *found.value();
  ctx.out << "id: " << r.client.id << "\n"
          << "name: " << r.client.name << "\n";
  PrintSettings(ctx, r);
  ctx.out << "webhook_secret: " << SecretText(ctx, r) << "\n";
  PrintDeliveries(ctx, r);
  PrintTimes(ctx, r);
  return kExitOk;
}

int Update(Context& ctx, const Vars& vars, const std::string& name) {
  if (!HasSettings(vars)) {
    return Usage(ctx, "update needs at least one of --webhook-url, --brand, --code-length, "
                      "--ttl, --max-attempts, --max-sends-per-day");
  }
  storage::ApiClientUpdate update;
  if (Problem problem = ReadSettings(vars, update)) return Usage(ctx, *problem);
  auto updated = ctx.clients.Update(name, update, ctx.clock.NowSeconds());
  if (!updated.ok()) return StorageFailure(ctx, updated.error());
  if (!updated.value()) return NoSuchClient(ctx, name);
  const storage::ApiClientRecord& r = *updated.value();
  ctx.out << "id: " << r.client.id << "\n"
          << "name: " << r.client.name << "\n";
  PrintSettings(ctx, r);
  return kExitOk;
}

int RotateKey(Context& ctx, const Vars& vars, const std::string& name) {
  int64_t grace = 86400;
  if (vars.count("grace")) {
    if (Problem p = ReadInt("grace", vars["grace"].as<std::string>(), 0, kMaxSeconds, grace)) {
      return Usage(ctx, *p);
    }
  }
  const std::string key = NewApiKey(ctx.random);
  const int64_t now = ctx.clock.NowSeconds();
  auto rotated = ctx.clients.RotateKey(name, util::Hash(key), grace, now);
  if (!rotated.ok()) return StorageFailure(ctx, rotated.error());
  if (!rotated.value()) return NoSuchClient(ctx, name);
  ctx.out << "name: " << name << "\n"
          << "api_key: " << key << "\n"
          << "previous_key_until: "
          << (grace == 0 ? "now (it no longer works)"
                         : FormatTime(now + grace) + " (" + Relative(now + grace, now) + ")")
          << "\n";
  ctx.err << "The new api_key is shown only now: keep it. Any key older than the previous "
             "one no longer works.\n";
  return kExitOk;
}

int SetDisabled(Context& ctx, const std::string& name, bool disabled) {
  auto changed = ctx.clients.SetDisabled(name, disabled, ctx.clock.NowSeconds());
  if (!changed.ok()) return StorageFailure(ctx, changed.error());
  if (!changed.value()) return NoSuchClient(ctx, name);
  const char* state = disabled ? "disabled" : "enabled";
  if (!*changed.value()) {
    ctx.out << "client '" << name << "' is already " << state << "\n";
  } else if (disabled) {
    ctx.out << "disabled client '" << name << "': its API keys now get 401\n";
  } else {
    ctx.out << "enabled client '" << name << "': its API key works again\n";
  }
  return kExitOk;
}

// ---- dispatch -------------------------------------------------------------------------

struct Action {
  const char* name;
  bool takes_name;
  bool takes_settings;
  bool takes_grace;
  std::function<int(Context&, const Vars&, const std::string&)> run;
};

const std::vector<Action>& Actions() {
  static const std::vector<Action> actions = {
      {"create", true, true, false, Create},
      {"list", false, false, false,
       [](Context& ctx, const Vars&, const std::string&) { return List(ctx); }},
      {"show", true, false, false,
       [](Context& ctx, const Vars&, const std::string& name) { return Show(ctx, name); }},
      {"update", true, true, false, Update},
      {"rotate-key", true, false, true, RotateKey},
      {"disable", true, false, false,
       [](Context& ctx, const Vars&, const std::string& name) {
         return SetDisabled(ctx, name, true);
       }},
      {"enable", true, false, false,
       [](Context& ctx, const Vars&, const std::string& name) {
         return SetDisabled(ctx, name, false);
       }},
  };
  return actions;
}

// The flags and arguments `action` does not take; "" when all given apply.
std::string Misplaced(const Action& action, const Vars& vars) {
  if (!action.takes_name && vars.count("name")) return "NAME";
  if (!action.takes_grace && vars.count("grace")) return "--grace";
  if (action.takes_settings) return "";
  for (const char* flag : kSettingFlags) {
    if (vars.count(flag)) return std::string("--") + flag;
  }
  return "";
}

}  // namespace

int Client(Context& ctx, const Vars& vars) {
  const std::string verb = vars["action"].as<std::string>();
  const auto& actions = Actions();
  const auto action = std::find_if(actions.begin(), actions.end(),
                                   [&](const Action& a) { return verb == a.name; });
  if (action == actions.end()) {
    return Usage(ctx, "unknown action '" + verb +
                          "' (create, list, show, update, rotate-key, disable, enable)");
  }
  if (const std::string extra = Misplaced(*action, vars); !extra.empty()) {
    return Usage(ctx, extra + " does not apply to '" + verb + "'");
  }
  std::string name;
  if (action->takes_name) {
    int exit_code = kExitUsage;
    std::optional<std::string> checked = NameOf(ctx, vars, verb, &exit_code);
    if (!checked) return exit_code;
    name = *checked;
  }
  return action->run(ctx, vars, name);
}

}  // namespace phoneverify::admin
