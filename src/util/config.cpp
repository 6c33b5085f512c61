#include "util/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "util/crypto.h"
#include "util/text.h"
#include "util/webhook_signature.h"

namespace phoneverify::util {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kEnvPrefix = "PHONEVERIFY_";
constexpr std::string_view kConfigFileEnv = "PHONEVERIFY_CONFIG";
constexpr int kBig = 1'000'000'000;
constexpr size_t kMaxEchoedValue = 64;

// A setter parses `value` into its field and returns "" or what is wrong with the value
// (phrased to follow the key name: "must be ...").
using Setter = std::function<std::string(const std::string& value, Config& config)>;
using Getter = std::function<std::string(const Config& config)>;
using TextCheck = std::function<std::string(const std::string& value)>;

struct Binding {
  Setter set;
  Getter get;
};

struct KeySpec {
  const char* name;
  bool secret;  // never echoed; printed as <set>/<unset>; allowed in the secrets file
  Binding binding;
};

std::string Trim(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return std::string(s.substr(begin, end - begin));
}

std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream in(value);
  while (std::getline(in, item, ',')) items.push_back(Trim(item));
  if (!items.empty() && items.back().empty()) items.pop_back();
  return items;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::optional<int> ParseInt(std::string_view s) {
  int out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return out;
}

// --- bindings -----------------------------------------------------------------------

Binding Int(int Config::*field, int min, int max) {
  return {[=](const std::string& value, Config& config) -> std::string {
            std::optional<int> n = ParseInt(Trim(value));
            if (n && *n >= min && *n <= max) {
              config.*field = *n;
              return "";
            }
            if (max == kBig) return "must be an integer >= " + std::to_string(min);
            return "must be an integer from " + std::to_string(min) + " to " +
                   std::to_string(max);
          },
          [=](const Config& config) { return std::to_string(config.*field); }};
}

Binding Bool(bool Config::*field) {
  return {[=](const std::string& value, Config& config) -> std::string {
            const std::string word = Trim(value);
            if (word != "true" && word != "false") return "must be true or false";
            config.*field = word == "true";
            return "";
          },
          [=](const Config& config) { return std::string(config.*field ? "true" : "false"); }};
}

Binding Text(std::string Config::*field, TextCheck check) {
  return {[=](const std::string& value, Config& config) -> std::string {
            std::string problem = check(value);
            if (problem.empty()) config.*field = value;
            return problem;
          },
          [=](const Config& config) { return config.*field; }};
}

Binding OneOf(std::string Config::*field, std::vector<std::string> choices) {
  return Text(field, [=](const std::string& value) -> std::string {
    if (std::find(choices.begin(), choices.end(), value) != choices.end()) return "";
    return "must be one of: " + JoinList(choices);
  });
}

Binding List(std::vector<std::string> Config::*field, TextCheck item_check,
             bool allow_empty) {
  return {[=](const std::string& value, Config& config) -> std::string {
            std::vector<std::string> items = SplitList(value);
            if (items.empty() && !allow_empty) return "must list at least one entry";
            for (const auto& item : items) {
              std::string problem = item_check(item);
              if (!problem.empty()) return problem;
            }
            config.*field = std::move(items);
            return "";
          },
          [=](const Config& config) { return JoinList(config.*field); }};
}

// sms_backend: a comma list in failover order of distinct names from `choices`; the text
// is kept as given, the names go to sms_backends.
Binding BackendList(std::vector<std::string> choices) {
  return {[=](const std::string& value, Config& config) -> std::string {
            const std::string problem =
                "must be a comma list of distinct backends from: " + JoinList(choices);
            std::vector<std::string> names = SplitList(value);
            // SplitList drops a trailing empty item; a backend list has none.
            const auto commas = std::count(value.begin(), value.end(), ',');
            if (names.empty() || names.size() != static_cast<size_t>(commas) + 1) {
              return problem;
            }
            for (auto it = names.begin(); it != names.end(); ++it) {
              if (std::find(choices.begin(), choices.end(), *it) == choices.end() ||
                  std::find(names.begin(), it, *it) != it) {
                return problem;
              }
            }
            config.sms_backend = value;
            config.sms_backends = std::move(names);
            return "";
          },
          [](const Config& config) { return config.sms_backend; }};
}

// db_hosts: "host[:port]" entries; an IPv6 address goes in brackets ("[::1]:3306").
std::optional<DbNode> ParseDbNode(const std::string& item) {
  DbNode node;
  std::string port;
  bool has_port = false;
  if (!item.empty() && item[0] == '[') {
    const size_t close = item.find(']');
    if (close == std::string::npos) return std::nullopt;
    node.host = item.substr(1, close - 1);
    const std::string rest = item.substr(close + 1);
    in6_addr v6{};
    if (inet_pton(AF_INET6, node.host.c_str(), &v6) != 1) return std::nullopt;
    if (!rest.empty() && rest[0] != ':') return std::nullopt;
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    const size_t colon = item.find(':');
    node.host = item.substr(0, colon);
    has_port = colon != std::string::npos;
    if (has_port) port = item.substr(colon + 1);
    const bool name_ok = std::all_of(node.host.begin(), node.host.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '.' || c == '-' || c == '_';
    });
    if (node.host.empty() || !name_ok) return std::nullopt;
  }
  if (has_port) {
    std::optional<int> n = IsAsciiDigits(port) ? ParseInt(port) : std::nullopt;
    if (!n || *n < 1 || *n > 65535) return std::nullopt;
    node.port = *n;
  }
  return node;
}

// db_hosts: empty (one local server), or a list with no empty entries.
Binding DbHostList() {
  return {[](const std::string& value, Config& config) -> std::string {
            const std::string problem = "must be a comma list of at most " +
                                        std::to_string(kMaxDbNodes) +
                                        " host or host:port entries (port 1 to 65535)";
            std::vector<DbNode> nodes;
            if (!Trim(value).empty()) {
              // SplitList drops a trailing empty item; a node list has none.
              std::vector<std::string> items = SplitList(value);
              const auto commas = std::count(value.begin(), value.end(), ',');
              if (items.size() != static_cast<size_t>(commas) + 1) return problem;
              if (items.size() > kMaxDbNodes) return problem;
              for (const std::string& item : items) {
                std::optional<DbNode> node = ParseDbNode(item);
                if (!node) return problem;
                nodes.push_back(std::move(*node));
              }
            }
            config.db_hosts = value;
            config.db_nodes = std::move(nodes);
            return "";
          },
          [](const Config& config) { return config.db_hosts; }};
}

// --- checks -------------------------------------------------------------------------

std::string AnyText(const std::string&) { return ""; }

std::string NonEmpty(const std::string& value) {
  return value.empty() ? "must not be empty" : "";
}

std::string HttpUrl(const std::string& value) {
  if (value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0) return "";
  return "must be an http:// or https:// URL";
}

std::string OptionalHttpUrl(const std::string& value) {
  return value.empty() ? "" : HttpUrl(value);
}

// Network namespace, veth and bridge names are made from it ("<name>-app2", "<name>-br"),
// and a Linux interface name holds at most 15 bytes.
std::string ClusterName(const std::string& value) {
  const bool ok = !value.empty() && value.size() <= 10 && std::islower(value[0]) &&
                  std::all_of(value.begin(), value.end(), [](unsigned char c) {
                    return std::islower(c) || std::isdigit(c);
                  });
  return ok ? "" : "must be a lower-case letter then up to 9 lower-case letters or digits";
}

// Database and user names end up in the set-up SQL of src/ops/stack.sh.
std::string SqlIdentifier(const std::string& value) {
  bool ok = !value.empty() && value.size() <= 64 &&
            std::all_of(value.begin(), value.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '_';
            });
  return ok ? "" : "must be 1 to 64 letters, digits or underscores";
}

std::string WebhookSecret(const std::string& value) {
  if (value.empty() || ParseWebhookSecret(value)) return "";
  return "must be whsec_ followed by the base64 of at least " +
         std::to_string(kMinWebhookKeyBytes) + " bytes";
}

std::string HexKey(const std::string& value) {
  bool ok = value.empty() ||
            (value.size() == 2 * kKeyBytes &&
             std::all_of(value.begin(), value.end(),
                         [](unsigned char c) { return std::isxdigit(c); }));
  return ok ? "" : "must be 64 hexadecimal characters";
}

// A DNS name: dot-separated labels of letters, digits and inner hyphens.
std::string PublicHost(const std::string& value) {
  const std::string problem = "must be a host name (letters, digits, dots and hyphens, at most " +
                              std::to_string(kMaxPublicHostChars) + " characters)";
  if (value.empty()) return "";
  if (value.size() > kMaxPublicHostChars) return problem;
  std::istringstream labels(value);
  std::string label;
  size_t seen = 0;
  while (std::getline(labels, label, '.')) {
    seen += label.size() + 1;
    const bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' &&
                    label.back() != '-' &&
                    std::all_of(label.begin(), label.end(), [](unsigned char c) {
                      return std::isalnum(c) || c == '-';
                    });
    if (!ok) return problem;
  }
  return seen == value.size() + 1 ? "" : problem;  // a trailing dot leaves an empty label
}

std::string Prefix(const std::string& item) {
  return item.size() == 3 && IsAsciiDigits(item) ? "" : "must be a comma list of 3-digit prefixes";
}

bool IsAddress(const std::string& text, int* max_bits) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    *max_bits = 32;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    *max_bits = 128;
    return true;
  }
  return false;
}

std::string AddressOrCidr(const std::string& item) {
  const std::string problem = "must be a comma list of IP addresses or CIDRs";
  size_t slash = item.find('/');
  int max_bits = 0;
  if (!IsAddress(item.substr(0, slash), &max_bits)) return problem;
  if (slash == std::string::npos) return "";
  std::string bits_text = item.substr(slash + 1);
  std::optional<int> bits = IsAsciiDigits(bits_text) ? ParseInt(bits_text) : std::nullopt;
  return bits && *bits <= max_bits ? "" : problem;
}

// --- the key table: every key and its validator, in one place (defaults: config.h) ----

const std::vector<KeySpec>& Keys() {
  using C = Config;
  static const std::vector<KeySpec> keys = {
      {"http_port", false, Int(&C::http_port, 1, 65535)},
      {"var_dir", false, Text(&C::var_dir, NonEmpty)},
      {"http_front", false, OneOf(&C::http_front, {"nginx", "apache", "apache-fcgid"})},
      {"cluster_name", false, Text(&C::cluster_name, ClusterName)},
      {"sms_backend", false, BackendList({"console", "sparrow", "http"})},
      {"sparrow_url", false, Text(&C::sparrow_url, HttpUrl)},
      {"sparrow_token", true, Text(&C::sparrow_token, AnyText)},
      {"sparrow_from", false, Text(&C::sparrow_from, AnyText)},
      {"otp_length", false, Int(&C::otp_length, 4, 10)},
      {"otp_ttl", false, Int(&C::otp_ttl, 1, kBig)},
      {"otp_max_attempts", false, Int(&C::otp_max_attempts, 0, kBig)},
      {"otp_resend_cooldown", false, Int(&C::otp_resend_cooldown, 0, kBig)},
      {"otp_max_sends_per_day", false, Int(&C::otp_max_sends_per_day, 0, kBig)},
      {"allowed_prefixes", false, List(&C::allowed_prefixes, Prefix, false)},
      {"workers", false, Int(&C::workers, 0, 1024)},
      {"worker_threads", false, Int(&C::worker_threads, 1, 256)},
      {"ip_max_sends_per_hour", false, Int(&C::ip_max_sends_per_hour, 0, kBig)},
      {"ip_max_signups_per_hour", false, Int(&C::ip_max_signups_per_hour, 0, kBig)},
      {"account_max_sends_per_day", false, Int(&C::account_max_sends_per_day, 0, kBig)},
      {"login_max_failures", false, Int(&C::login_max_failures, 0, kBig)},
      {"login_max_failures_per_ip", false, Int(&C::login_max_failures_per_ip, 0, kBig)},
      {"sms_daily_budget", false, Int(&C::sms_daily_budget, 0, kBig)},
      {"prefix_max_sends_per_hour", false, Int(&C::prefix_max_sends_per_hour, 0, kBig)},
      {"prefix_digits", false, Int(&C::prefix_digits, 4, 9)},
      {"sparrow_allow_http", false, Bool(&C::sparrow_allow_http)},
      {"trusted_proxies", false, List(&C::trusted_proxies, AddressOrCidr, true)},
      {"ipv6_limit_prefix", false, Int(&C::ipv6_limit_prefix, 1, 128)},
      {"cookie_secure", false, OneOf(&C::cookie_secure, {"auto", "always"})},
      {"db_hosts", false, DbHostList()},
      {"public_host", false, Text(&C::public_host, PublicHost)},
      {"fcgi_socket", false, Text(&C::fcgi_socket, AnyText)},
      {"fcgi_socket_group", false, Text(&C::fcgi_socket_group, AnyText)},
      {"fcgi_listen", false, Text(&C::fcgi_listen, AnyText)},
      {"db_socket", false, Text(&C::db_socket, AnyText)},
      {"db_host", false, Text(&C::db_host, AnyText)},
      {"db_port", false, Int(&C::db_port, 1, 65535)},
      {"db_name", false, Text(&C::db_name, SqlIdentifier)},
      {"db_user", false, Text(&C::db_user, SqlIdentifier)},
      {"db_password", true, Text(&C::db_password, AnyText)},
      {"db_timeout", false, Int(&C::db_timeout, 1, 3600)},
      {"otp_hash_key", true, Text(&C::otp_hash_key, HexKey)},
      {"outbox_key", true, Text(&C::outbox_key, HexKey)},
      {"log_file", false, Text(&C::log_file, AnyText)},
      {"sms_log", false, Text(&C::sms_log, AnyText)},
      {"sparrow_timeout", false, Int(&C::sparrow_timeout, 1, 600)},
      {"sms_max_tries", false, Int(&C::sms_max_tries, 1, 1000)},
      {"dispatcher_poll_ms", false, Int(&C::dispatcher_poll_ms, 1, 60'000)},
      {"dispatcher_in_flight", false, Int(&C::dispatcher_in_flight, 1, 4096)},
      {"dispatcher_socket", false, Text(&C::dispatcher_socket, AnyText)},
      {"sms_retry_base", false, Int(&C::sms_retry_base, 1, 3600)},
      {"sms_retry_max", false, Int(&C::sms_retry_max, 1, 86'400)},
      {"sms_breaker_failures", false, Int(&C::sms_breaker_failures, 0, 1000)},
      {"sms_breaker_cooloff", false, Int(&C::sms_breaker_cooloff, 1, 3600)},
      {"sms_credit_poll", false, Int(&C::sms_credit_poll, 1, 86'400)},
      {"sms_credit_pause", false, Int(&C::sms_credit_pause, 1, 86'400)},
      {"max_body_bytes", false, Int(&C::max_body_bytes, 1, 16 * 1024 * 1024)},
      {"retention_days", false, Int(&C::retention_days, 1, 36500)},
      {"sparrow_credit_url", false, Text(&C::sparrow_credit_url, OptionalHttpUrl)},
      {"sms_http_url", false, Text(&C::sms_http_url, OptionalHttpUrl)},
      {"sms_http_secret", true, Text(&C::sms_http_secret, WebhookSecret)},
      {"www_dir", false, Text(&C::www_dir, NonEmpty)},
      {"session_idle_timeout", false, Int(&C::session_idle_timeout, 1, kBig)},
      {"session_max_age", false, Int(&C::session_max_age, 1, kBig)},
      {"session_key", true, Text(&C::session_key, HexKey)},
  };
  return keys;
}

const KeySpec* FindKey(std::string_view name) {
  for (const auto& spec : Keys()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

Error ConfigError(const std::string& key, const std::string& details) {
  return Error::Make(ErrorKind::kInvalidInput, "invalid_config", details, key);
}

Status ApplyValue(const KeySpec& spec, const std::string& value, const std::string& origin,
                  Config& config) {
  std::string problem = spec.binding.set(value, config);
  if (problem.empty()) return Status::Ok();
  std::string details = origin + ": " + spec.name + " " + problem;
  // Secrets are never echoed back, not even in an error.
  if (!spec.secret) details += " (got '" + value.substr(0, kMaxEchoedValue) + "')";
  return ConfigError(spec.name, details);
}

// Applies file text; when `secrets_only`, keys that are not secrets are refused.
Status ApplyText(const std::string& text, const std::string& origin, bool secrets_only,
                 Config& config) {
  po::options_description description;
  for (const auto& spec : Keys()) description.add_options()(spec.name, po::value<std::string>());
  po::parsed_options parsed(&description);
  try {
    std::istringstream in(text);
    parsed = po::parse_config_file(in, description, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    return ConfigError("", origin + ": " + e.what());
  }
  for (const auto& option : parsed.options) {
    const KeySpec* spec = option.unregistered ? nullptr : FindKey(option.string_key);
    if (spec == nullptr) {
      return ConfigError(option.string_key,
                         origin + ": unknown key '" + option.string_key + "'");
    }
    if (secrets_only && !spec->secret) {
      return ConfigError(spec->name, origin + ": key '" + spec->name +
                                         "' does not belong in the secrets file");
    }
    Status status = ApplyValue(*spec, option.value.empty() ? "" : option.value.front(),
                               origin, config);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

enum class ReadOutcome { kRead, kMissing, kFailed };

ReadOutcome ReadFile(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno == ENOENT ? ReadOutcome::kMissing : ReadOutcome::kFailed;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return ReadOutcome::kFailed;
  text = buffer.str();
  return ReadOutcome::kRead;
}

struct EnvSetting {
  const KeySpec* spec;
  std::string name;
  std::string value;
};

bool IsUpperKeyName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isupper(c) || std::isdigit(c) || c == '_';
  });
}

// Picks the PHONEVERIFY_* entries out of `env`; unknown ones become warnings.
std::vector<EnvSetting> CollectEnv(const std::vector<std::string>& env,
                                   std::vector<std::string>& warnings) {
  std::vector<EnvSetting> settings;
  for (const auto& entry : env) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    if (name.rfind(kEnvPrefix, 0) != 0 || name == kConfigFileEnv) continue;
    std::string suffix = name.substr(kEnvPrefix.size());
    std::string key = suffix;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const KeySpec* spec = IsUpperKeyName(suffix) ? FindKey(key) : nullptr;
    if (spec == nullptr) {
      warnings.push_back("unknown environment variable " + name + " ignored");
      continue;
    }
    settings.push_back({spec, name, eq == std::string::npos ? "" : entry.substr(eq + 1)});
  }
  return settings;
}

Status ApplyEnv(const std::vector<EnvSetting>& settings, Config& config) {
  for (const auto& setting : settings) {
    Status status = ApplyValue(*setting.spec, setting.value,
                               "environment variable " + setting.name, config);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The secrets file lives under var_dir, which the environment may still change.
std::string SecretsPath(const Config& config, const std::vector<EnvSetting>& env) {
  std::string var_dir = config.var_dir;
  for (const auto& setting : env) {
    if (std::string_view(setting.spec->name) == "var_dir") var_dir = setting.value;
  }
  return StripTrailingSlashes(var_dir) + "/secrets.conf";
}

Status ApplySecretsFile(const std::string& path, Config& config,
                        std::vector<std::string>& warnings) {
  std::string text;
  ReadOutcome outcome = ReadFile(path, text);
  if (outcome == ReadOutcome::kMissing) return Status::Ok();
  if (outcome == ReadOutcome::kFailed) {
    return ConfigError("", "cannot read secrets file " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    warnings.push_back("secrets file " + path + " is readable by other users (chmod 600 it)");
  }
  return ApplyText(text, path, /*secrets_only=*/true, config);
}

// The host of an http(s) URL, without brackets or port ("" when there is none).
std::string UrlHost(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  authority = authority.substr(authority.rfind('@') + 1);  // npos + 1 == 0: no user info
  if (!authority.empty() && authority[0] == '[') {
    return authority.substr(1, authority.find(']') - 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// Plain http only to this machine (the tests' fake gateway), unless the operator says so.
Status CheckPlainHttp(const Config& config) {
  if (config.sparrow_allow_http) return Status::Ok();
  struct Endpoint {
    const char* key;
    const char* carries;
  };
  for (const Endpoint& endpoint : {Endpoint{"sparrow_url", "the Sparrow token"},
                                   Endpoint{"sparrow_credit_url", "the Sparrow token"},
                                   Endpoint{"sms_http_url", "the codes"}}) {
    const std::string url = FindKey(endpoint.key)->binding.get(config);
    if (url.rfind("http://", 0) != 0 || IsLoopbackHost(UrlHost(url))) continue;
    return ConfigError(endpoint.key, std::string("configuration: ") + endpoint.key + " " + url +
                                         " is plain http to another host: " + endpoint.carries +
                                         " would travel in clear (use https://, or set "
                                         "sparrow_allow_http = true)");
  }
  return Status::Ok();
}

// The keys a listed backend cannot work without.
Status CheckRequired(const Config& config, const char* backend,
                     std::initializer_list<const char*> keys) {
  if (!config.UsesBackend(backend)) return Status::Ok();
  for (const char* key : keys) {
    if (FindKey(key)->binding.get(config).empty()) {
      return ConfigError(key, std::string("configuration: ") + key +
                                  " is required when sms_backend lists " + backend);
    }
  }
  return Status::Ok();
}

Status CheckCombination(const Config& config) {
  if (Status st = CheckPlainHttp(config); !st.ok()) return st;
  if (Status st = CheckRequired(config, "sparrow", {"sparrow_token", "sparrow_from"}); !st.ok()) {
    return st;
  }
  return CheckRequired(config, "http", {"sms_http_url", "sms_http_secret"});
}

// Sparrow's credit endpoint lives beside its send endpoint: scheme://host[:port]/v2/credit/.
std::string DefaultCreditUrl(const std::string& sparrow_url) {
  const size_t host = sparrow_url.find("://");
  const size_t path = sparrow_url.find('/', host == std::string::npos ? 0 : host + 3);
  return sparrow_url.substr(0, path) + "/v2/credit/";
}

void ResolveDefaults(Config& config) {
  config.var_dir = StripTrailingSlashes(config.var_dir);
  if (config.workers == 0) {
    config.workers = std::max(1u, std::thread::hardware_concurrency());
  }
  const std::string& var = config.var_dir;
  if (config.fcgi_socket.empty()) config.fcgi_socket = var + "/run/fcgi.sock";
  if (config.dispatcher_socket.empty()) config.dispatcher_socket = var + "/run/dispatcher.sock";
  if (config.db_socket.empty()) config.db_socket = var + "/run/mysqld.sock";
  if (config.log_file.empty()) config.log_file = var + "/log/phoneverify.log";
  if (config.sms_log.empty()) config.sms_log = var + "/sms.log";
  if (config.sparrow_credit_url.empty()) {
    config.sparrow_credit_url = DefaultCreditUrl(config.sparrow_url);
  }
  // Validation guarantees 64 hex characters, so decoding cannot fail here.
  config.otp_hash_key_bytes = HexDecode(config.otp_hash_key).value_or("");
  config.outbox_key_bytes = HexDecode(config.outbox_key).value_or("");
  config.session_key_bytes = HexDecode(config.session_key).value_or("");
  // Validation guarantees a parsable secret when one is set.
  config.sms_http_key_bytes = ParseWebhookSecret(config.sms_http_secret).value_or("");
}

Status ApplyConfigFile(const std::string& path, bool path_required, Config& config) {
  if (path.empty() && !path_required) return Status::Ok();  // no file: defaults only
  std::string text;
  ReadOutcome outcome = ReadFile(path, text);
  if (outcome == ReadOutcome::kMissing && !path_required) return Status::Ok();
  if (outcome != ReadOutcome::kRead) {
    return ConfigError("", "cannot read config file " + path + ": " + std::strerror(errno));
  }
  return ApplyText(text, path, /*secrets_only=*/false, config);
}

}  // namespace

bool Config::UsesBackend(std::string_view name) const {
  return std::find(sms_backends.begin(), sms_backends.end(), name) != sms_backends.end();
}

Status ApplyConfigText(const std::string& text, const std::string& origin, Config& config) {
  return ApplyText(text, origin, /*secrets_only=*/false, config);
}

Result<LoadResult> LoadConfig(const std::string& path, bool path_required,
                              const std::vector<std::string>& env) {
  LoadResult result;
  Config& config = result.config;  // the built-in defaults: Config's initialisers
  std::vector<EnvSetting> env_settings = CollectEnv(env, result.warnings);
  Status status = ApplyConfigFile(path, path_required, config);
  if (!status.ok()) return status.error();
  status = ApplySecretsFile(SecretsPath(config, env_settings), config, result.warnings);
  if (!status.ok()) return status.error();
  status = ApplyEnv(env_settings, config);
  if (!status.ok()) return status.error();
  status = CheckCombination(config);
  if (!status.ok()) return status.error();
  ResolveDefaults(config);
  return result;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  for (const auto& spec : Keys()) {
    std::string value = spec.binding.get(config);
    if (spec.secret) value = value.empty() ? "<unset>" : "<set>";
    out += std::string(spec.name) + " = " + value + "\n";
  }
  return out;
}

}  // namespace phoneverify::util
