// Which address a request comes from. REMOTE_ADDR is the peer of the web server; only
// when that peer is a trusted proxy (config trusted_proxies: addresses or CIDRs, IPv4 or
// IPv6) is X-Forwarded-For believed, and then only from the right: the client is the
// right-most hop that is not itself a trusted proxy. Hops further left are written by
// the client and never believed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace phoneverify::http {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Each entry "a.b.c.d", "a.b.c.d/n", "x:y::z" or "x:y::/n". 400-kind Error naming
  // "trusted_proxies" for a malformed entry.
  static util::Result<TrustedProxies> Parse(const std::vector<std::string>& entries);
  bool Contains(std::string_view address) const;
  bool empty() const { return nets_.empty(); }

 private:
  struct Net {
    std::array<uint8_t, 16> address{};  // IPv4 held as ::ffff:a.b.c.d
    int prefix = 128;
  };
  std::vector<Net> nets_;
};

// Canonical text form of an IP address (IPv4-mapped IPv6 shown as IPv4, IPv6 compressed
// lower case); accepts "[v6]" brackets. nullopt when `text` is not an address.
std::optional<std::string> NormalizeIp(std::string_view text);

// The client address for rate limits and logs (canonical form when parseable).
std::string ClientIp(std::string_view remote_addr, std::string_view x_forwarded_for,
                     const TrustedProxies& proxies);

// Who per-IP limits count: an IPv4 client by its address; an IPv6 client by its first
// `ipv6_prefix` bits as "network/bits" (one subscriber holds a whole /64 and can rotate
// through it), or by its address at 128. `client_ip` comes from ClientIp; anything that
// is not an address is returned as it is.
std::string LimitKey(std::string_view client_ip, int ipv6_prefix);

// How App tells clients apart (config trusted_proxies, ipv6_limit_prefix, cookie_secure).
struct ClientRules {
  TrustedProxies proxies;
  int ipv6_limit_prefix = 128;
  bool always_https = false;  // cookie_secure = always: every client is on https
};

// Whether the client's own connection is https: the web server's TLS (`server_https`),
// `always_https`, or X-Forwarded-Proto "https" from a trusted proxy (a TLS-terminating
// proxy in front; from anyone else the header is the client's own word, never believed).
bool ClientUsesHttps(bool server_https, std::string_view remote_addr,
                     std::string_view x_forwarded_proto, const ClientRules& rules);

}  // namespace phoneverify::http
