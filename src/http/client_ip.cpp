#include "http/client_ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace phoneverify::http {
namespace {

using Bytes = std::array<uint8_t, 16>;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsV4Mapped(const Bytes& b) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b.data(), kPrefix, sizeof kPrefix) == 0;
}

// Parses an address into 16 bytes (IPv4 as v4-mapped). `is_v4` tells which syntax.
std::optional<Bytes> ParseAddress(std::string_view text, bool* is_v4) {
  text = Trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string z(text);
  Bytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, z.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    *is_v4 = true;
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, z.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    *is_v4 = false;
    return out;
  }
  return std::nullopt;
}

std::string Format(const Bytes& b) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsV4Mapped(b)) {
    inet_ntop(AF_INET, b.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  }
  return buf;
}

bool PrefixMatches(const Bytes& a, const Bytes& b, int prefix) {
  int full = prefix / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

std::optional<int> ParsePrefix(std::string_view text, int max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace

util::Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies proxies;
  for (const std::string& raw : entries) {
    std::string_view entry = Trim(raw);
    if (entry.empty()) continue;
    size_t slash = entry.find('/');
    bool is_v4 = false;
    auto address = ParseAddress(entry.substr(0, slash), &is_v4);
    std::optional<int> prefix = is_v4 ? 32 : 128;
    if (address && slash != std::string_view::npos) {
      prefix = ParsePrefix(entry.substr(slash + 1), is_v4 ? 32 : 128);
    }
    if (!address || !prefix) {
      return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_config",
                               "trusted_proxies: not an address or CIDR: " + raw,
                               "trusted_proxies");
    }
    proxies.nets_.push_back(Net{*address, is_v4 ? *prefix + 96 : *prefix});
  }
  return proxies;
}

bool TrustedProxies::Contains(std::string_view address) const {
  bool is_v4 = false;
  auto bytes = ParseAddress(address, &is_v4);
  if (!bytes) return false;
  for (const Net& net : nets_) {
    if (PrefixMatches(*bytes, net.address, net.prefix)) return true;
  }
  return false;
}

std::optional<std::string> NormalizeIp(std::string_view text) {
  bool is_v4 = false;
  auto bytes = ParseAddress(text, &is_v4);
  if (!bytes) return std::nullopt;
  return Format(*bytes);
}

std::string LimitKey(std::string_view client_ip, int ipv6_prefix) {
  bool is_v4 = false;
  auto bytes = ParseAddress(client_ip, &is_v4);
  if (!bytes || is_v4 || IsV4Mapped(*bytes) || ipv6_prefix >= 128) {
    return std::string(client_ip);
  }
  const int bits = std::max(ipv6_prefix, 0);
  Bytes network{};
  std::memcpy(network.data(), bytes->data(), static_cast<size_t>(bits / 8));
  if (bits % 8 != 0) {
    network[bits / 8] = (*bytes)[bits / 8] & static_cast<uint8_t>(0xff << (8 - bits % 8));
  }
  return Format(network) + "/" + std::to_string(bits);
}

bool ClientUsesHttps(bool server_https, std::string_view remote_addr,
                     std::string_view x_forwarded_proto, const ClientRules& rules) {
  if (server_https || rules.always_https) return true;
  std::string proto(Trim(x_forwarded_proto));
  for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return proto == "https" && rules.proxies.Contains(remote_addr);
}

std::string ClientIp(std::string_view remote_addr, std::string_view x_forwarded_for,
                     const TrustedProxies& proxies) {
  std::string client = NormalizeIp(remote_addr).value_or(std::string(Trim(remote_addr)));
  if (client.empty()) client = "unknown";
  if (!proxies.Contains(client)) return client;
  // Walk the hops right to left while they are our own proxies.
  std::string_view rest = x_forwarded_for;
  while (!Trim(rest).empty()) {
    size_t comma = rest.rfind(',');
    std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (Trim(hop).empty()) continue;
    auto normalized = NormalizeIp(hop);
    // A garbled hop cannot be a client address; keep the last proxy we trust.
    if (!normalized) return client;
    client = *normalized;
    if (!proxies.Contains(client)) return client;
  }
  return client;
}

}  // namespace phoneverify::http
