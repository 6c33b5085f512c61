#include "util/config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "util/webhook_signature.h"

namespace phoneverify::util {
namespace {

namespace fs = std::filesystem;

const std::string kKeyA(64, 'a');
const std::string kKeyB = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

// A scratch directory holding a config file and a var_dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "pv-config-test-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    chmod(file.c_str(), mode);
    return file.string();
  }
  std::string Path(const std::string& name = "") const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

Config Apply(const std::string& text) {
  Config config;
  Status status = ApplyConfigText(text, "test.conf", config);
  BOOST_REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().details));
  return config;
}

Error ApplyError(const std::string& text) {
  Config config;
  Status status = ApplyConfigText(text, "test.conf", config);
  BOOST_REQUIRE_MESSAGE(!status.ok(), "expected an error for: " << text);
  return status.error();
}

Result<LoadResult> Load(const TempDir& dir, const std::vector<std::string>& env = {}) {
  std::vector<std::string> full_env = {"PHONEVERIFY_VAR_DIR=" + dir.Path("var")};
  full_env.insert(full_env.end(), env.begin(), env.end());
  return LoadConfig(dir.Path("phoneverify.conf"), false, full_env);
}

void CheckNamesKey(const Error& error, const std::string& key) {
  BOOST_TEST((error.kind == ErrorKind::kInvalidInput));
  BOOST_TEST(error.code == "invalid_config");
  BOOST_TEST(error.field == key);
  BOOST_TEST(error.details.find(key) != std::string::npos, error.details);
}

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_match_the_contract) {
  TempDir dir;
  auto loaded = LoadConfig(dir.Path("absent.conf"), false, {});
  BOOST_REQUIRE(loaded.ok());
  const Config& c = loaded.value().config;
  BOOST_TEST(c.http_port == 8080);
  BOOST_TEST(c.var_dir == "var");
  BOOST_TEST(c.http_front == "nginx");
  BOOST_TEST(c.sms_backend == "console");
  BOOST_TEST(c.sms_backends == (std::vector<std::string>{"console"}));
  BOOST_TEST(c.UsesBackend("console"));
  BOOST_TEST(!c.UsesBackend("sparrow"));
  BOOST_TEST(!c.UsesBackend("http"));
  BOOST_TEST(c.sms_http_url.empty());
  BOOST_TEST(c.sms_http_secret.empty());
  BOOST_TEST(c.sms_http_key_bytes.empty());
  BOOST_TEST(c.sparrow_url == "https://api.sparrowsms.com/v2/sms/");
  BOOST_TEST(c.sparrow_credit_url == "https://api.sparrowsms.com/v2/credit/");
  BOOST_TEST(!c.sparrow_allow_http);
  BOOST_TEST(c.otp_length == 6);
  BOOST_TEST(c.otp_ttl == 300);
  BOOST_TEST(c.otp_max_attempts == 5);
  BOOST_TEST(c.otp_resend_cooldown == 60);
  BOOST_TEST(c.otp_max_sends_per_day == 5);
  BOOST_TEST(c.ip_max_sends_per_hour == 100);
  BOOST_TEST(c.ip_max_signups_per_hour == 20);
  BOOST_TEST(c.account_max_sends_per_day == 10);
  BOOST_TEST(c.login_max_failures == 10);
  BOOST_TEST(c.login_max_failures_per_ip == 50);
  BOOST_TEST(c.sms_daily_budget == 10000);
  BOOST_TEST(c.trusted_proxies.empty());
  BOOST_TEST(c.ipv6_limit_prefix == 64);
  BOOST_TEST(c.cookie_secure == "auto");
  BOOST_TEST(c.allowed_prefixes == Config().allowed_prefixes);
  BOOST_TEST(c.db_hosts.empty());
  BOOST_TEST(c.db_nodes.empty());
  BOOST_TEST(loaded.value().warnings.empty());
}

// The initialisers are the one home of the defaults: loading adds none of its own.
BOOST_AUTO_TEST_CASE(with_no_file_or_environment_the_loaded_config_is_the_defaults) {
  TempDir dir;
  // An empty var_dir, so no secrets file of a local `make run` leaks into the defaults.
  auto loaded = LoadConfig(dir.Path("absent.conf"), false,
                           {"PHONEVERIFY_VAR_DIR=" + dir.Path("var")});
  BOOST_REQUIRE(loaded.ok());
  Config from_table = loaded.value().config;
  Config from_struct;
  // Undo what LoadConfig resolves so only the defaults are compared.
  from_table.var_dir = from_struct.var_dir;
  from_table.workers = 0;
  from_table.fcgi_socket = from_table.db_socket = from_table.log_file = from_table.sms_log = "";
  from_table.sparrow_credit_url = "";
  from_table.dispatcher_socket = "";
  BOOST_TEST(DescribeConfig(from_table) == DescribeConfig(from_struct));
}

// conf/phoneverify.conf documents every key with its default, commented out ("#key =
// value"; secrets and derived paths with no value): a key added or a default changed
// without it fails here.
BOOST_AUTO_TEST_CASE(the_shipped_config_file_shows_every_key_with_its_default) {
  std::ifstream in("conf/phoneverify.conf");
  BOOST_REQUIRE(in);
  std::set<std::string> documented;
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == '#' && line.find(" =") != std::string::npos &&
        line[1] != ' ' && line[1] != '-') {
      documented.insert(line.substr(1));
    }
  }
  std::istringstream described(DescribeConfig(Config()));
  for (std::string line; std::getline(described, line);) {
    const std::string key = line.substr(0, line.find(" = "));
    std::string value = line.substr(line.find(" = ") + 3);
    if (value == "<unset>" || value == "<set>") value.clear();
    const std::string expected = value.empty() ? key + " =" : key + " = " + value;
    BOOST_TEST(documented.count(expected) == 1u, "conf/phoneverify.conf lacks '#" << expected << "'");
  }
}

BOOST_AUTO_TEST_CASE(derived_defaults_are_resolved_under_var_dir) {
  TempDir dir;
  auto loaded = LoadConfig(dir.Path("absent.conf"), false, {"PHONEVERIFY_VAR_DIR=/srv/pv/"});
  BOOST_REQUIRE(loaded.ok());
  const Config& c = loaded.value().config;
  BOOST_TEST(c.var_dir == "/srv/pv");
  BOOST_TEST(c.fcgi_socket == "/srv/pv/run/fcgi.sock");
  BOOST_TEST(c.db_socket == "/srv/pv/run/mysqld.sock");
  BOOST_TEST(c.log_file == "/srv/pv/log/phoneverify.log");
  BOOST_TEST(c.sms_log == "/srv/pv/sms.log");
  BOOST_TEST(c.workers == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

BOOST_AUTO_TEST_CASE(credit_url_defaults_to_the_send_hosts_credit_path) {
  TempDir dir;
  auto loaded = Load(dir, {"PHONEVERIFY_SPARROW_URL=https://sms.example:8443/v2/sms/?x=1"});
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.sparrow_credit_url == "https://sms.example:8443/v2/credit/");
  BOOST_TEST(loaded.value().config.retention_days == 30);
  auto plain = Load(dir, {"PHONEVERIFY_SPARROW_URL=http://127.0.0.1:9"});
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(plain.value().config.sparrow_credit_url == "http://127.0.0.1:9/v2/credit/");
  auto own = Load(dir, {"PHONEVERIFY_SPARROW_CREDIT_URL=https://credit.example/c"});
  BOOST_REQUIRE(own.ok());
  BOOST_TEST(own.value().config.sparrow_credit_url == "https://credit.example/c");
  CheckNamesKey(ApplyError("sparrow_credit_url = ftp://x/"), "sparrow_credit_url");
  CheckNamesKey(ApplyError("retention_days = 0"), "retention_days");
}

// Contract section 2: the token never travels in clear to another host by accident.
BOOST_AUTO_TEST_CASE(plain_http_to_another_host_is_refused_unless_allowed) {
  TempDir dir;
  for (const char* url : {"http://api.sparrowsms.com/v2/sms/", "http://10.0.0.1:8080/v2/sms/",
                          "http://user@198.51.100.1/", "http://[2001:db8::1]:80/",
                          "http://127.example/"}) {
    BOOST_TEST_CONTEXT(url) {
      auto refused = Load(dir, {std::string("PHONEVERIFY_SPARROW_URL=") + url});
      BOOST_REQUIRE(!refused.ok());
      CheckNamesKey(refused.error(), "sparrow_url");
      BOOST_TEST(refused.error().details.find("sparrow_allow_http") != std::string::npos);
      auto allowed = Load(dir, {std::string("PHONEVERIFY_SPARROW_URL=") + url,
                                "PHONEVERIFY_SPARROW_ALLOW_HTTP=true"});
      BOOST_TEST(allowed.ok());
    }
  }
  for (const char* url : {"http://127.0.0.1:9/v2/sms/", "http://127.8.9.10/", "http://localhost:80/",
                          "http://[::1]:8080/v2/sms/", "https://sms.example/"}) {
    BOOST_TEST_CONTEXT(url) {
      BOOST_TEST(Load(dir, {std::string("PHONEVERIFY_SPARROW_URL=") + url}).ok());
    }
  }
  auto credit = Load(dir, {"PHONEVERIFY_SPARROW_CREDIT_URL=http://credit.example/c"});
  BOOST_REQUIRE(!credit.ok());
  CheckNamesKey(credit.error(), "sparrow_credit_url");
  CheckNamesKey(ApplyError("sparrow_allow_http = yes\n"), "sparrow_allow_http");
}

BOOST_AUTO_TEST_CASE(explicit_paths_and_workers_are_kept) {
  TempDir dir;
  dir.Write("phoneverify.conf", "workers = 3\nfcgi_socket = /tmp/x.sock\nsms_log = /tmp/s\n");
  auto loaded = Load(dir);
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.workers == 3);
  BOOST_TEST(loaded.value().config.fcgi_socket == "/tmp/x.sock");
  BOOST_TEST(loaded.value().config.sms_log == "/tmp/s");
}

BOOST_AUTO_TEST_CASE(file_lines_set_values) {
  Config c = Apply(
      "http_port = 9090\n"
      "sms_backend=sparrow\n"
      "  sparrow_from   =   Demo Sender  \n"
      "allowed_prefixes = 984, 961 ,962\n"
      "trusted_proxies = 10.0.0.0/8,::1,192.168.1.7\n");
  BOOST_TEST(c.http_port == 9090);
  BOOST_TEST(c.sms_backend == "sparrow");
  BOOST_TEST(c.sparrow_from == "Demo Sender");
  BOOST_TEST(c.allowed_prefixes == (std::vector<std::string>{"984", "961", "962"}));
  BOOST_TEST(c.trusted_proxies ==
             (std::vector<std::string>{"10.0.0.0/8", "::1", "192.168.1.7"}));
}

BOOST_AUTO_TEST_CASE(comments_and_blank_lines_are_ignored) {
  Config c = Apply(
      "# a comment\n"
      "\n"
      "   # indented comment\n"
      "otp_length = 8   # trailing comment\n"
      "#otp_ttl = 1\n");
  BOOST_TEST(c.otp_length == 8);
  BOOST_TEST(c.otp_ttl == 300);
}

BOOST_AUTO_TEST_CASE(later_lines_win) {
  BOOST_TEST(Apply("otp_ttl = 10\notp_ttl = 20\n").otp_ttl == 20);
}

BOOST_AUTO_TEST_CASE(empty_value_clears_a_text_key) {
  Config c = Apply("sparrow_from = X\nsparrow_from =\n");
  BOOST_TEST(c.sparrow_from.empty());
  BOOST_TEST(Apply("trusted_proxies =\n").trusted_proxies.empty());
}

BOOST_AUTO_TEST_CASE(unknown_key_in_file_names_key_and_origin) {
  Error e = ApplyError("otp_length = 6\notp_lenght = 7\n");
  CheckNamesKey(e, "otp_lenght");
  BOOST_TEST(e.details.find("test.conf") != std::string::npos, e.details);
}

BOOST_AUTO_TEST_CASE(section_headers_are_not_keys) {
  CheckNamesKey(ApplyError("[server]\nhttp_port = 1\n"), "server.http_port");
}

BOOST_AUTO_TEST_CASE(line_without_equals_is_an_error_naming_the_file) {
  Error e = ApplyError("http_port 8080\n");
  BOOST_TEST(e.code == "invalid_config");
  BOOST_TEST(e.details.find("test.conf") != std::string::npos, e.details);
}

BOOST_AUTO_TEST_CASE(each_bad_value_names_its_key) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"http_port", "eighty"},
      {"http_port", "0"},
      {"http_port", "70000"},
      {"otp_length", "3"},
      {"otp_length", "11"},
      {"otp_length", "6x"},
      {"otp_length", ""},
      {"otp_ttl", "0"},
      {"otp_ttl", "-5"},
      {"otp_max_attempts", "-1"},
      {"otp_resend_cooldown", "1.5"},
      {"otp_max_sends_per_day", "lots"},
      {"ip_max_sends_per_hour", "-1"},
      {"ip_max_signups_per_hour", "99999999999999"},
      {"account_max_sends_per_day", "+3"},
      {"login_max_failures", "-2"},
      {"login_max_failures_per_ip", "-1"},
      {"sms_daily_budget", "many"},
      {"workers", "-1"},
      {"http_front", "lighttpd"},
      {"sms_backend", "smtp"},
      {"sms_http_url", "ftp://bridge.example/"},
      {"sms_http_secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
      {"sparrow_url", "ftp://example.com/"},
      {"allowed_prefixes", "98"},
      {"allowed_prefixes", "984,98a"},
      {"allowed_prefixes", ""},
      {"trusted_proxies", "10.0.0.0/33"},
      {"trusted_proxies", "not-an-ip"},
      {"trusted_proxies", "::1/129"},
      {"trusted_proxies", "10.0.0.1/"},
      {"ipv6_limit_prefix", "0"},
      {"ipv6_limit_prefix", "129"},
      {"cookie_secure", "yes"},
      {"otp_hash_key", "abcd"},
      {"outbox_key", std::string(64, 'g')},
      {"db_name", "pv; DROP TABLE x"},
      {"db_user", ""},
      {"var_dir", ""},
      {"prefix_max_sends_per_hour", "-1"},
      {"prefix_digits", "3"},
      {"prefix_digits", "10"},
      {"sms_retry_base", "0"},
      {"sms_retry_max", "0"},
      {"sms_breaker_failures", "-1"},
      {"sms_breaker_cooloff", "0"},
      {"sms_credit_pause", "soon"},
  };
  for (const auto& [key, value] : bad) {
    BOOST_TEST_CONTEXT(key << " = '" << value << "'") {
      CheckNamesKey(ApplyError(key + " = " + value + "\n"), key);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_secret_is_not_echoed) {
  Error e = ApplyError("otp_hash_key = supersecretvalue\n");
  BOOST_TEST(e.details.find("supersecretvalue") == std::string::npos, e.details);
}

BOOST_AUTO_TEST_CASE(limits_of_zero_are_accepted) {
  Config c = Apply(
      "otp_max_attempts = 0\notp_resend_cooldown = 0\notp_max_sends_per_day = 0\n"
      "ip_max_sends_per_hour = 0\nip_max_signups_per_hour = 0\n"
      "account_max_sends_per_day = 0\nlogin_max_failures = 0\nsms_daily_budget = 0\n"
      "login_max_failures_per_ip = 0\n");
  BOOST_TEST(c.otp_max_attempts == 0);
  BOOST_TEST(c.otp_resend_cooldown == 0);
  BOOST_TEST(c.otp_max_sends_per_day == 0);
  BOOST_TEST(c.ip_max_sends_per_hour == 0);
  BOOST_TEST(c.ip_max_signups_per_hour == 0);
  BOOST_TEST(c.account_max_sends_per_day == 0);
  BOOST_TEST(c.login_max_failures == 0);
  BOOST_TEST(c.login_max_failures_per_ip == 0);
  BOOST_TEST(c.sms_daily_budget == 0);
}

BOOST_AUTO_TEST_CASE(abuse_and_dispatcher_keys_have_their_defaults_and_edges) {
  const Config defaults;
  BOOST_TEST(defaults.prefix_max_sends_per_hour == 30);
  BOOST_TEST(defaults.prefix_digits == 6);
  BOOST_TEST(defaults.sms_breaker_failures == 5);
  Config c = Apply("prefix_max_sends_per_hour = 0\nprefix_digits = 9\nsms_breaker_failures = 0\n");
  BOOST_TEST(c.prefix_max_sends_per_hour == 0);
  BOOST_TEST(c.prefix_digits == 9);
  BOOST_TEST(c.sms_breaker_failures == 0);
}

BOOST_AUTO_TEST_CASE(range_edges_are_accepted) {
  BOOST_TEST(Apply("otp_length = 4\n").otp_length == 4);
  BOOST_TEST(Apply("otp_length = 10\n").otp_length == 10);
  BOOST_TEST(Apply("otp_ttl = 1\n").otp_ttl == 1);
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_file) {
  TempDir dir;
  dir.Write("phoneverify.conf", "otp_ttl = 120\notp_length = 8\n");
  auto loaded = Load(dir, {"PHONEVERIFY_OTP_TTL=45", "PATH=/bin"});
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.otp_ttl == 45);
  BOOST_TEST(loaded.value().config.otp_length == 8);
}

BOOST_AUTO_TEST_CASE(bad_environment_value_names_key_and_variable) {
  TempDir dir;
  auto loaded = Load(dir, {"PHONEVERIFY_OTP_LENGTH=12"});
  BOOST_REQUIRE(!loaded.ok());
  CheckNamesKey(loaded.error(), "otp_length");
  BOOST_TEST(loaded.error().details.find("PHONEVERIFY_OTP_LENGTH") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_environment_variable_is_a_warning) {
  TempDir dir;
  auto loaded = Load(dir, {"PHONEVERIFY_OTP_LENTH=5", "PHONEVERIFY_CONFIG=/x.conf",
                           "PHONEVERIFY_otp_ttl=3", "OTHER_OTP_TTL=1"});
  BOOST_REQUIRE(loaded.ok());
  const auto& warnings = loaded.value().warnings;
  BOOST_REQUIRE_EQUAL(warnings.size(), 2u);
  BOOST_TEST(warnings[0].find("PHONEVERIFY_OTP_LENTH") != std::string::npos);
  BOOST_TEST(warnings[1].find("PHONEVERIFY_otp_ttl") != std::string::npos);
  BOOST_TEST(loaded.value().config.otp_ttl == 300);
}

BOOST_AUTO_TEST_CASE(unknown_key_in_loaded_file_names_key_and_path) {
  TempDir dir;
  std::string path = dir.Write("phoneverify.conf", "colour = blue\n");
  auto loaded = Load(dir);
  BOOST_REQUIRE(!loaded.ok());
  CheckNamesKey(loaded.error(), "colour");
  BOOST_TEST(loaded.error().details.find(path) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_only_when_required) {
  TempDir dir;
  BOOST_TEST(LoadConfig(dir.Path("nope.conf"), false, {}).ok());
  auto loaded = LoadConfig(dir.Path("nope.conf"), true, {});
  BOOST_REQUIRE(!loaded.ok());
  BOOST_TEST(loaded.error().code == "invalid_config");
  BOOST_TEST(loaded.error().details.find("nope.conf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(secrets_file_is_read_and_decoded) {
  TempDir dir;
  dir.Write("var/secrets.conf", "otp_hash_key = " + kKeyA + "\noutbox_key = " + kKeyB +
                                    "\ndb_password = s3cret\n");
  auto loaded = Load(dir);
  BOOST_REQUIRE(loaded.ok());
  const Config& c = loaded.value().config;
  BOOST_TEST(c.otp_hash_key == kKeyA);
  BOOST_TEST(c.db_password == "s3cret");
  BOOST_TEST(c.otp_hash_key_bytes == std::string(32, '\xaa'));
  BOOST_REQUIRE_EQUAL(c.outbox_key_bytes.size(), 32u);
  BOOST_TEST(c.outbox_key_bytes[1] == '\x11');
  BOOST_TEST(c.outbox_key_bytes[31] == '\xff');
  BOOST_TEST(loaded.value().warnings.empty());
}

BOOST_AUTO_TEST_CASE(secrets_left_empty_when_unset) {
  TempDir dir;
  auto loaded = Load(dir);
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.otp_hash_key_bytes.empty());
  BOOST_TEST(loaded.value().config.outbox_key_bytes.empty());
}

BOOST_AUTO_TEST_CASE(precedence_is_file_then_secrets_then_environment) {
  TempDir dir;
  dir.Write("phoneverify.conf", "db_password = from_file\nsparrow_token = file_token\n");
  dir.Write("var/secrets.conf", "db_password = from_secrets\nsparrow_token = s_token\n");
  auto loaded = Load(dir, {"PHONEVERIFY_SPARROW_TOKEN=env_token"});
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.db_password == "from_secrets");
  BOOST_TEST(loaded.value().config.sparrow_token == "env_token");
}

BOOST_AUTO_TEST_CASE(secrets_file_follows_var_dir_from_the_file) {
  TempDir dir;
  dir.Write("phoneverify.conf", "var_dir = " + dir.Path("state") + "\n");
  dir.Write("state/secrets.conf", "db_password = here\n");
  auto loaded = LoadConfig(dir.Path("phoneverify.conf"), true, {});
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.value().config.db_password == "here");
}

BOOST_AUTO_TEST_CASE(secrets_file_refuses_ordinary_keys) {
  TempDir dir;
  dir.Write("var/secrets.conf", "http_port = 1234\n");
  auto loaded = Load(dir);
  BOOST_REQUIRE(!loaded.ok());
  CheckNamesKey(loaded.error(), "http_port");
  BOOST_TEST(loaded.error().details.find("secrets.conf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(world_readable_secrets_file_warns) {
  TempDir dir;
  dir.Write("var/secrets.conf", "db_password = x\n", 0644);
  auto loaded = Load(dir);
  BOOST_REQUIRE(loaded.ok());
  BOOST_REQUIRE_EQUAL(loaded.value().warnings.size(), 1u);
  BOOST_TEST(loaded.value().warnings[0].find("secrets.conf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sparrow_backend_requires_token_and_sender) {
  TempDir dir;
  auto no_token = Load(dir, {"PHONEVERIFY_SMS_BACKEND=sparrow", "PHONEVERIFY_SPARROW_FROM=X"});
  BOOST_REQUIRE(!no_token.ok());
  CheckNamesKey(no_token.error(), "sparrow_token");
  auto no_from = Load(dir, {"PHONEVERIFY_SMS_BACKEND=sparrow", "PHONEVERIFY_SPARROW_TOKEN=t"});
  BOOST_REQUIRE(!no_from.ok());
  CheckNamesKey(no_from.error(), "sparrow_from");
  auto both = Load(dir, {"PHONEVERIFY_SMS_BACKEND=sparrow", "PHONEVERIFY_SPARROW_TOKEN=t",
                         "PHONEVERIFY_SPARROW_FROM=X"});
  BOOST_TEST(both.ok());
}

constexpr const char* kHttpSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Contract section 6, several gateways: a comma list in failover order.
BOOST_AUTO_TEST_CASE(sms_backend_is_a_failover_list_kept_as_given) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> good = {
      {"sparrow", {"sparrow"}},
      {"http", {"http"}},
      {"sparrow,http", {"sparrow", "http"}},
      {"http , sparrow", {"http", "sparrow"}},
      {"console,sparrow,http", {"console", "sparrow", "http"}},
  };
  for (const auto& [text, names] : good) {
    BOOST_TEST_CONTEXT("sms_backend = " << text) {
      Config c = Apply("sms_backend = " + text + "\n");
      BOOST_TEST(c.sms_backend == text);
      BOOST_TEST(c.sms_backends == names);
      for (const char* name : {"console", "sparrow", "http"}) {
        const bool listed = std::find(names.begin(), names.end(), name) != names.end();
        BOOST_TEST(c.UsesBackend(name) == listed, name);
      }
      BOOST_TEST(!c.UsesBackend("spar"));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_empty_unknown_or_repeated_backend_names_sms_backend) {
  for (const char* text : {"", " ", ",", "smtp", "sparrow,smtp", "sparrow,sparrow",
                           "http, sparrow ,http", "sparrow,,http", "sparrow,", ",http",
                           "Sparrow", "sparrow http", "sparrow;http"}) {
    BOOST_TEST_CONTEXT("sms_backend = '" << text << "'") {
      CheckNamesKey(ApplyError(std::string("sms_backend = ") + text + "\n"), "sms_backend");
      TempDir dir;
      auto loaded = Load(dir, {std::string("PHONEVERIFY_SMS_BACKEND=") + text});
      BOOST_REQUIRE(!loaded.ok());
      CheckNamesKey(loaded.error(), "sms_backend");
    }
  }
  // A refused value leaves the previous one whole, text and list alike.
  Config c = Apply("sms_backend = http\n");
  BOOST_TEST(!ApplyConfigText("sms_backend = sparrow,smtp\n", "test.conf", c).ok());
  BOOST_TEST(c.sms_backend == "http");
  BOOST_TEST(c.sms_backends == (std::vector<std::string>{"http"}));
}

BOOST_AUTO_TEST_CASE(a_listed_sparrow_needs_its_token_and_sender_wherever_it_stands) {
  TempDir dir;
  const std::vector<std::string> http = {"PHONEVERIFY_SMS_HTTP_URL=https://bridge.example/sms",
                                         std::string("PHONEVERIFY_SMS_HTTP_SECRET=") + kHttpSecret};
  auto env = http;
  env.push_back("PHONEVERIFY_SMS_BACKEND=http,sparrow");
  auto no_token = Load(dir, env);
  BOOST_REQUIRE(!no_token.ok());
  CheckNamesKey(no_token.error(), "sparrow_token");
  env.push_back("PHONEVERIFY_SPARROW_TOKEN=t");
  env.push_back("PHONEVERIFY_SPARROW_FROM=X");
  BOOST_TEST(Load(dir, env).ok());
}

BOOST_AUTO_TEST_CASE(a_listed_http_backend_needs_its_url_and_secret) {
  TempDir dir;
  const std::string backend = "PHONEVERIFY_SMS_BACKEND=sparrow,http";
  const std::string token = "PHONEVERIFY_SPARROW_TOKEN=t";
  const std::string from = "PHONEVERIFY_SPARROW_FROM=X";
  const std::string url = "PHONEVERIFY_SMS_HTTP_URL=https://bridge.example/sms";
  const std::string secret = std::string("PHONEVERIFY_SMS_HTTP_SECRET=") + kHttpSecret;
  auto no_url = Load(dir, {backend, token, from, secret});
  BOOST_REQUIRE(!no_url.ok());
  CheckNamesKey(no_url.error(), "sms_http_url");
  auto no_secret = Load(dir, {backend, token, from, url});
  BOOST_REQUIRE(!no_secret.ok());
  CheckNamesKey(no_secret.error(), "sms_http_secret");
  auto both = Load(dir, {backend, token, from, url, secret});
  BOOST_REQUIRE(both.ok());
  const Config& c = both.value().config;
  BOOST_TEST(c.sms_http_url == "https://bridge.example/sms");
  BOOST_TEST(c.sms_http_key_bytes.size() == 24u);
  BOOST_TEST(c.sms_http_key_bytes == ParseWebhookSecret(kHttpSecret).value_or("-"));
  // Not listed: neither is needed.
  BOOST_TEST(Load(dir, {"PHONEVERIFY_SMS_BACKEND=console"}).ok());
}

BOOST_AUTO_TEST_CASE(a_bad_http_secret_names_its_key_and_is_not_echoed) {
  for (const char* secret : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64",
                             "whsec_AAECAwQFBgcICQoLDA0O"}) {
    BOOST_TEST_CONTEXT(secret) {
      Error e = ApplyError(std::string("sms_http_secret = ") + secret + "\n");
      CheckNamesKey(e, "sms_http_secret");
      BOOST_TEST(e.details.find(secret) == std::string::npos, e.details);
    }
  }
  TempDir dir;
  auto loaded = Load(dir, {"PHONEVERIFY_SMS_HTTP_SECRET=whsec_short"});
  BOOST_REQUIRE(!loaded.ok());
  CheckNamesKey(loaded.error(), "sms_http_secret");
  BOOST_TEST(loaded.error().details.find("whsec_short") == std::string::npos);
}

// The same rule as sparrow_url: the codes never travel in clear to another host by accident.
BOOST_AUTO_TEST_CASE(plain_http_sms_http_url_to_another_host_is_refused_unless_allowed) {
  TempDir dir;
  const std::vector<std::string> http = {"PHONEVERIFY_SMS_BACKEND=http",
                                         std::string("PHONEVERIFY_SMS_HTTP_SECRET=") + kHttpSecret};
  for (const char* url : {"http://bridge.example/sms", "http://10.0.0.1:8080/",
                          "http://[2001:db8::1]:80/"}) {
    BOOST_TEST_CONTEXT(url) {
      auto env = http;
      env.push_back(std::string("PHONEVERIFY_SMS_HTTP_URL=") + url);
      auto refused = Load(dir, env);
      BOOST_REQUIRE(!refused.ok());
      CheckNamesKey(refused.error(), "sms_http_url");
      BOOST_TEST(refused.error().details.find("sparrow_allow_http") != std::string::npos);
      env.push_back("PHONEVERIFY_SPARROW_ALLOW_HTTP=true");
      BOOST_TEST(Load(dir, env).ok());
    }
  }
  for (const char* url : {"http://127.0.0.1:9/sms", "http://localhost/", "http://[::1]:8080/",
                          "https://bridge.example/sms"}) {
    BOOST_TEST_CONTEXT(url) {
      auto env = http;
      env.push_back(std::string("PHONEVERIFY_SMS_HTTP_URL=") + url);
      BOOST_TEST(Load(dir, env).ok());
    }
  }
}

BOOST_AUTO_TEST_CASE(describe_lists_every_key_and_hides_secrets) {
  Config c;
  c.otp_hash_key = kKeyA;
  c.db_password = "hunter22";
  c.sparrow_token = "tok-123";
  c.sms_http_secret = kHttpSecret;
  c.trusted_proxies = {"10.0.0.0/8", "::1"};
  std::string text = DescribeConfig(c);
  BOOST_TEST(text.find("otp_hash_key = <set>\n") != std::string::npos);
  BOOST_TEST(text.find("outbox_key = <unset>\n") != std::string::npos);
  BOOST_TEST(text.find("db_password = <set>\n") != std::string::npos);
  BOOST_TEST(text.find("sparrow_token = <set>\n") != std::string::npos);
  BOOST_TEST(text.find("hunter22") == std::string::npos);
  BOOST_TEST(text.find("tok-123") == std::string::npos);
  BOOST_TEST(text.find("sms_http_secret = <set>\n") != std::string::npos);
  BOOST_TEST(text.find("MfKQ9r8") == std::string::npos);
  BOOST_TEST(text.find(kKeyA) == std::string::npos);
  BOOST_TEST(text.find("trusted_proxies = 10.0.0.0/8,::1\n") != std::string::npos);
  BOOST_TEST(text.find("allowed_prefixes = 984,985,986,974,975,976,980,981,982\n") !=
             std::string::npos);
  BOOST_TEST(text.find("http_port = 8080\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(db_hosts_lists_nodes_in_order_with_the_default_port) {
  Config c = Apply("db_hosts = 10.77.0.11:3306, db2.example:3307 ,db3,[fd00::13]:3308,[::1]\n");
  const std::vector<DbNode> expected = {{"10.77.0.11", 3306},
                                        {"db2.example", 3307},
                                        {"db3", 3306},
                                        {"fd00::13", 3308},
                                        {"::1", 3306}};
  BOOST_TEST((c.db_nodes == expected));
  BOOST_TEST(c.db_hosts == "10.77.0.11:3306, db2.example:3307 ,db3,[fd00::13]:3308,[::1]");
  BOOST_TEST(DescribeConfig(c).find("\ndb_hosts = 10.77.0.11:3306, db2.example:3307 ,db3,") !=
             std::string::npos);
  Config cleared = c;
  Status st = ApplyConfigText("db_hosts =\n", "test.conf", cleared);
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(cleared.db_hosts.empty());
  BOOST_TEST(cleared.db_nodes.empty());
}

BOOST_AUTO_TEST_CASE(a_bad_db_hosts_entry_names_the_key) {
  std::string seventeen;
  for (int i = 1; i <= 17; ++i) seventeen += (i > 1 ? "," : "") + ("db" + std::to_string(i));
  for (const std::string& value :
       {std::string("db1,,db2"), std::string("db1,"), std::string(",db1"), std::string(":3306"),
        std::string("db1:0"), std::string("db1:65536"), std::string("db1:"),
        std::string("db1:33o6"), std::string("db1:-1"), std::string("db 1"),
        std::string("fd00::13"), std::string("[fd00::13"), std::string("[db1]:3306"),
        std::string("[::1]3306"), std::string("db1:3306:1"), seventeen}) {
    BOOST_TEST_CONTEXT("db_hosts = '" << value << "'") {
      CheckNamesKey(ApplyError("db_hosts = " + value + "\n"), "db_hosts");
    }
  }
  TempDir dir;
  auto loaded = Load(dir, {"PHONEVERIFY_DB_HOSTS=db1:99999"});
  BOOST_REQUIRE(!loaded.ok());
  CheckNamesKey(loaded.error(), "db_hosts");
}

BOOST_AUTO_TEST_CASE(public_host_is_empty_by_default_and_a_host_name_when_set) {
  BOOST_TEST(Config().public_host.empty());
  BOOST_TEST(Apply("public_host = verify.example.com.np\n").public_host == "verify.example.com.np");
  BOOST_TEST(Apply("public_host = localhost\n").public_host == "localhost");
  BOOST_TEST(Apply("public_host = xn--r8jz45g.jp\n").public_host == "xn--r8jz45g.jp");
  const std::string longest = std::string(kMaxPublicHostChars - 3, 'a') + ".np";
  BOOST_TEST(Apply("public_host = " + longest + "\n").public_host == longest);
  BOOST_TEST(DescribeConfig(Apply("public_host = a.example\n")).find("public_host = a.example\n") !=
             std::string::npos);
  for (const std::string& bad :
       {std::string("a") + longest, std::string("https://example.com"),
        std::string("example.com/verify"), std::string("exa mple.com"), std::string("a..b"),
        std::string("example.com."), std::string(".example.com"), std::string("-a.example"),
        std::string("a-.example"), std::string("a_b.example"), std::string("example.com:8080"),
        std::string("caf\xC3\xA9.np"), std::string(64, 'a') + ".np"}) {
    BOOST_TEST_CONTEXT("public_host = '" << bad << "'") {
      const Error error = ApplyError("public_host = " + bad + "\n");
      CheckNamesKey(error, "public_host");
      BOOST_TEST(error.details.find(std::to_string(kMaxPublicHostChars)) != std::string::npos,
                 error.details);
    }
  }
}

BOOST_AUTO_TEST_CASE(describe_output_reads_back_without_secrets) {
  Config original;
  original.otp_length = 7;
  original.trusted_proxies = {"127.0.0.1"};
  original.db_hosts = "10.77.0.11,10.77.0.12:3307";
  original.db_nodes = {{"10.77.0.11", 3306}, {"10.77.0.12", 3307}};
  std::string text;
  std::istringstream lines(DescribeConfig(original));
  for (std::string line; std::getline(lines, line);) {
    if (line.find("<unset>") == std::string::npos) text += line + "\n";
  }
  Config copy = Apply(text);
  BOOST_TEST(DescribeConfig(copy) == DescribeConfig(original));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
