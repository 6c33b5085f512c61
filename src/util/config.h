// The one typed configuration. Every default lives here, as the member's initialiser (the
// one home: the key table in config.cpp names and validates, the domain's policies and
// the dispatcher's options are made from a Config); values are validated once at start-up. Sources, later wins: built-in defaults, the config file
// (`key = value` lines, '#' comments), the secrets file (<var_dir>/secrets.conf, written by
// `make run` on first use), then PHONEVERIFY_<KEY> environment variables.
// Unknown keys in a file or bad values: an Error naming the key. Unknown PHONEVERIFY_*
// environment variables: a warning in LoadResult::warnings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace phoneverify::util {

// One MariaDB/Galera node of db_hosts.
struct DbNode {
  std::string host;  // name or address (an IPv6 address without its brackets)
  int port = 3306;
  bool operator==(const DbNode&) const = default;
};

// db_hosts lists at most this many nodes (storage keeps per-node state in a fixed array).
inline constexpr size_t kMaxDbNodes = 16;

// Longest public_host: the line "@<public_host> #<code>" must leave room in the SMS for a
// 20-character brand, a 10-digit code, the lifetime and an app_hash (domain/sms_text.h).
inline constexpr size_t kMaxPublicHostChars = 48;

struct Config {
  // Contract section 2.
  int http_port = 8080;
  std::string var_dir = "var";
  std::string http_front = "nginx";
  // make cluster (contract section 8): prefix of its network namespaces and bridge
  std::string cluster_name = "pv";
  // A comma list in failover order of distinct backends: console, sparrow, http (contract
  // section 6), kept as given; sms_backends holds it parsed.
  std::string sms_backend = "console";
  std::string sparrow_url = "https://api.sparrowsms.com/v2/sms/";  // TLS verified
  std::string sparrow_token;
  std::string sparrow_from;
  int otp_length = 6;
  int otp_ttl = 300;
  int otp_max_attempts = 5;
  int otp_resend_cooldown = 60;
  int otp_max_sends_per_day = 5;
  std::vector<std::string> allowed_prefixes = {"984", "985", "986", "974", "975",
                                               "976", "980", "981", "982"};
  int workers = 0;  // 0 = number of cores (resolved by Load)
  int worker_threads = 16;  // serving threads per worker (> nginx upstream keepalive)
  int ip_max_sends_per_hour = 100;
  int ip_max_signups_per_hour = 20;
  int account_max_sends_per_day = 10;
  int login_max_failures = 10;
  int login_max_failures_per_ip = 50;
  int sms_daily_budget = 10000;
  // SMS pumping guard: code sends to numbers sharing their first prefix_digits digits.
  int prefix_max_sends_per_hour = 30;
  int prefix_digits = 6;
  std::vector<std::string> trusted_proxies;
  // A plain-http sparrow_url, sparrow_credit_url or sms_http_url to a host other than the
  // loopback would carry the token or the codes in clear: refused at start-up unless this
  // is set.
  bool sparrow_allow_http = false;
  int ipv6_limit_prefix = 64;  // per-IP limits count an IPv6 client by this many bits
  // Secure on cookies: "auto" when the client is on https (the web server's TLS, or a
  // trusted proxy's X-Forwarded-Proto), "always" behind a proxy that says nothing.
  std::string cookie_secure = "auto";
  // MariaDB/Galera nodes in order of preference (contract section 8): a comma list of
  // host[:port] entries ([v6]:port for IPv6), kept as given; db_nodes holds it parsed.
  // Empty: the single server of db_socket, or db_host when that is set.
  std::string db_hosts;
  // The site's host name; when set, every code SMS ends with "@<public_host> #<code>"
  // (WebOTP / iOS domain-bound codes). Letters, digits, dots and hyphens, at most
  // kMaxPublicHostChars.
  std::string public_host;

  // Extensions.
  std::string fcgi_socket;  // default <var_dir>/run/fcgi.sock
  std::string fcgi_listen;  // "ADDRESS:PORT": FastCGI on TCP (other hosts' web servers)
  std::string fcgi_socket_group;  // group that may connect (mode 0660); "" = our own
  std::string db_socket;    // default <var_dir>/run/mysqld.sock
  std::string db_host;      // empty = unix socket
  int db_port = 3306;
  std::string db_name = "phoneverify";
  std::string db_user = "phoneverify";
  std::string db_password;         // secret
  int db_timeout = 3;              // connect/read/write timeout, seconds
  std::string otp_hash_key;        // secret, 64 hex chars
  std::string outbox_key;          // secret, 64 hex chars
  std::string log_file;            // default <var_dir>/log/phoneverify.log
  std::string sms_log;             // default <var_dir>/sms.log (console backend)
  int sparrow_timeout = 10;        // seconds per gateway call
  int sms_max_tries = 8;           // transient failures before a message is failed
  int dispatcher_poll_ms = 2000;   // longest idle sleep (a worker's wake-up ends it early)
  int dispatcher_in_flight = 256;  // messages the dispatcher has at the gateways at once
  std::string dispatcher_socket;   // wake-up socket; default <var_dir>/run/dispatcher.sock
  int sms_retry_base = 2;          // seconds before the first retry (doubling, with jitter)
  int sms_retry_max = 300;         // cap on the retry delay, seconds
  int sms_breaker_failures = 5;    // consecutive gateway failures that pause sending; 0 = off
  int sms_breaker_cooloff = 30;    // seconds the paused gateway is left alone before a probe
  int sms_credit_pause = 300;      // seconds sending pauses after "no credits" (1012/1013)
  int sms_credit_poll = 60;        // seconds between credit checks while paused (sparrow)
  int max_body_bytes = 16384;
  int retention_days = 30;         // finished outbox rows kept this long (admin purge)
  std::string sparrow_credit_url;  // default <scheme://host of sparrow_url>/v2/credit/
  // The generic http backend (contract section 6); both required when it is listed.
  std::string sms_http_url;
  std::string sms_http_secret;     // secret, whsec_<base64 of at least 16 bytes>
  // HTML pages (contract section 5).
  std::string www_dir = "www";     // templates/ and static/ of the pages
  int session_idle_timeout = 3600;  // seconds without a request before a session ends
  int session_max_age = 86400;      // seconds after sign-in when a session ends regardless
  std::string session_key;          // secret, 64 hex chars (CSRF tokens)

  // sms_backend parsed (set with it by the key's setter).
  std::vector<std::string> sms_backends = {"console"};
  // db_hosts parsed (set with it by the key's setter); empty when db_hosts is.
  std::vector<DbNode> db_nodes;

  // Resolved secrets as raw bytes (decoded from hex, or from whsec_ base64, by Load).
  std::string otp_hash_key_bytes;
  std::string outbox_key_bytes;
  std::string session_key_bytes;
  std::string sms_http_key_bytes;

  // Whether sms_backend lists `name` ("console", "sparrow", "http").
  bool UsesBackend(std::string_view name) const;
};

struct LoadResult {
  Config config;
  std::vector<std::string> warnings;
};

// Reads `path` (missing file is an error only if `path_required`), then the secrets file,
// then `environ`-style variables from `env` (NAME=VALUE entries).
Result<LoadResult> LoadConfig(const std::string& path, bool path_required,
                              const std::vector<std::string>& env);

// Parses file text and applies it on top of `config` (used by LoadConfig and tests).
Status ApplyConfigText(const std::string& text, const std::string& origin, Config& config);

// `key = value` lines of every key (secrets shown as "<set>"/"<unset>"), for
// `--print-config` and the shell that runs the stack.
std::string DescribeConfig(const Config& config);

}  // namespace phoneverify::util
