// Client address with trusted proxies (contract section 2, trusted_proxies).
#include <boost/test/unit_test.hpp>

#include "http/client_ip.h"

namespace phoneverify::http {
namespace {

TrustedProxies Proxies(std::vector<std::string> entries) {
  auto parsed = TrustedProxies::Parse(entries);
  BOOST_REQUIRE(parsed.ok());
  return parsed.value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_client_ip)

BOOST_AUTO_TEST_CASE(no_proxies_means_remote_addr) {
  TrustedProxies none;
  BOOST_TEST(ClientIp("203.0.113.5", "1.2.3.4", none) == "203.0.113.5");
  BOOST_TEST(ClientIp("::ffff:203.0.113.5", "", none) == "203.0.113.5");
  BOOST_TEST(ClientIp("2001:DB8::1", "", none) == "2001:db8::1");
  BOOST_TEST(ClientIp("", "", none) == "unknown");
}

BOOST_AUTO_TEST_CASE(untrusted_peer_xff_ignored) {
  TrustedProxies proxies = Proxies({"10.0.0.1"});
  BOOST_TEST(ClientIp("203.0.113.5", "198.51.100.1", proxies) == "203.0.113.5");
}

BOOST_AUTO_TEST_CASE(trusted_v4_peer_uses_rightmost_hop) {
  TrustedProxies proxies = Proxies({"127.0.0.1"});
  BOOST_TEST(ClientIp("127.0.0.1", "198.51.100.1", proxies) == "198.51.100.1");
  BOOST_TEST(ClientIp("127.0.0.1", " 198.51.100.1 ", proxies) == "198.51.100.1");
  // Trusted peer without the header: the peer is all we know.
  BOOST_TEST(ClientIp("127.0.0.1", "", proxies) == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(spoofed_leftmost_hops_never_win) {
  TrustedProxies proxies = Proxies({"127.0.0.1", "10.0.0.0/8"});
  // The client wrote "6.6.6.6, 10.0.0.5" itself; our proxies appended the rest.
  BOOST_TEST(ClientIp("127.0.0.1", "6.6.6.6, 10.0.0.5, 198.51.100.1, 10.1.2.3", proxies) ==
             "198.51.100.1");
  // A client claiming to be a trusted proxy from the left only fools nobody either.
  BOOST_TEST(ClientIp("127.0.0.1", "127.0.0.1, 198.51.100.2", proxies) == "198.51.100.2");
}

BOOST_AUTO_TEST_CASE(all_hops_trusted_gives_leftmost) {
  TrustedProxies proxies = Proxies({"10.0.0.0/8"});
  BOOST_TEST(ClientIp("10.0.0.1", "10.0.0.3, 10.0.0.2", proxies) == "10.0.0.3");
}

BOOST_AUTO_TEST_CASE(garbled_hop_stops_the_walk) {
  TrustedProxies proxies = Proxies({"127.0.0.1"});
  BOOST_TEST(ClientIp("127.0.0.1", "198.51.100.1, not-an-ip", proxies) == "127.0.0.1");
  BOOST_TEST(ClientIp("127.0.0.1", "198.51.100.1,,", proxies) == "198.51.100.1");
}

BOOST_AUTO_TEST_CASE(cidr_v4) {
  TrustedProxies proxies = Proxies({"192.168.0.0/16", "172.16.0.0/12"});
  BOOST_TEST(proxies.Contains("192.168.255.1"));
  BOOST_TEST(!proxies.Contains("192.169.0.1"));
  BOOST_TEST(proxies.Contains("172.31.255.255"));
  BOOST_TEST(!proxies.Contains("172.32.0.0"));
  BOOST_TEST(proxies.Contains("::ffff:192.168.1.1"));
  BOOST_TEST(!proxies.Contains("garbage"));
}

BOOST_AUTO_TEST_CASE(v6_addresses_and_cidr) {
  TrustedProxies proxies = Proxies({"::1", "2001:db8:abcd::/48"});
  BOOST_TEST(proxies.Contains("::1"));
  BOOST_TEST(proxies.Contains("[::1]"));
  BOOST_TEST(proxies.Contains("2001:db8:abcd:12::7"));
  BOOST_TEST(!proxies.Contains("2001:db8:abce::7"));
  BOOST_TEST(ClientIp("::1", "2001:db8:1::9, 2001:db8:abcd::2", proxies) == "2001:db8:1::9");
}

BOOST_AUTO_TEST_CASE(odd_prefixes) {
  TrustedProxies proxies = Proxies({"10.1.2.3/31", "0.0.0.0/0"});
  BOOST_TEST(proxies.Contains("8.8.8.8"));  // /0 trusts every IPv4 address
  BOOST_TEST(!proxies.Contains("2001:db8::1"));
  TrustedProxies narrow = Proxies({"10.1.2.2/31"});
  BOOST_TEST(narrow.Contains("10.1.2.3"));
  BOOST_TEST(!narrow.Contains("10.1.2.4"));
}

// ipv6_limit_prefix (contract section 2): an IPv6 client is its network to the limits.
BOOST_AUTO_TEST_CASE(limit_key_counts_ipv6_by_its_network_and_ipv4_by_its_address) {
  BOOST_TEST(LimitKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64) == "2001:db8:1:2::/64");
  BOOST_TEST(LimitKey("2001:db8:1:2::1", 64) == LimitKey("2001:db8:1:2:ffff::9", 64));
  BOOST_TEST(LimitKey("2001:db8:1:3::1", 64) != LimitKey("2001:db8:1:2::1", 64));
  BOOST_TEST(LimitKey("2001:db8:1:2::1", 48) == "2001:db8:1::/48");
  BOOST_TEST(LimitKey("2001:db8:1:ff::1", 60) == "2001:db8:1:f0::/60");  // not on a byte
  BOOST_TEST(LimitKey("2001:db8::1", 1) == "::/1");
  BOOST_TEST(LimitKey("2001:db8::1", 128) == "2001:db8::1");
  BOOST_TEST(LimitKey("203.0.113.5", 64) == "203.0.113.5");
  BOOST_TEST(LimitKey("::ffff:203.0.113.5", 64) == "::ffff:203.0.113.5");  // IPv4 kept
  BOOST_TEST(LimitKey("unknown", 64) == "unknown");
}

BOOST_AUTO_TEST_CASE(bad_entries_name_the_key) {
  for (std::string bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "host.example",
                          "10.0.0.1/x", "1.2.3.4/-1"}) {
    auto parsed = TrustedProxies::Parse({bad});
    BOOST_REQUIRE_MESSAGE(!parsed.ok(), bad);
    BOOST_TEST(parsed.error().details.find("trusted_proxies") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::http
