// util/crypto: the libsodium wrappers refuse keys of the wrong length instead of reading
// past them, and round-trip what they should.
#include "util/crypto.h"

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>

namespace phoneverify::util {
namespace {

struct Sodium {
  Sodium() { BOOST_REQUIRE(InitCrypto()); }
};

BOOST_FIXTURE_TEST_SUITE(crypto, Sodium)

BOOST_AUTO_TEST_CASE(seal_and_open_round_trip_only_with_the_same_key) {
  const std::string key(32, 'k');
  const std::string sealed = Seal(key, "code 123456");
  BOOST_TEST(sealed.find("123456") == std::string::npos);
  BOOST_TEST(Open(key, sealed).value_or("") == "code 123456");
  BOOST_TEST(!Open(std::string(32, 'x'), sealed).has_value());
  BOOST_TEST(Seal(key, "same") != Seal(key, "same"));  // a fresh nonce each time
}

BOOST_AUTO_TEST_CASE(seal_refuses_a_key_that_is_not_32_bytes) {
  for (size_t size : {0u, 1u, 16u, 31u, 33u, 64u}) {
    BOOST_TEST_INFO("key of " << size << " bytes");
    BOOST_CHECK_THROW(Seal(std::string(size, 'k'), "text"), std::invalid_argument);
    BOOST_TEST(!Open(std::string(size, 'k'), std::string(64, '\0')).has_value());
  }
}

BOOST_AUTO_TEST_CASE(keyed_hash_depends_on_the_key_and_refuses_bad_lengths) {
  const std::string a = KeyedHash(std::string(32, 'a'), "1:9841234567:123456");
  const std::string b = KeyedHash(std::string(32, 'b'), "1:9841234567:123456");
  BOOST_TEST(a.size() == 32u);
  BOOST_TEST(a != b);
  BOOST_TEST(a == KeyedHash(std::string(32, 'a'), "1:9841234567:123456"));
  BOOST_CHECK_NO_THROW(KeyedHash(std::string(16, 'k'), "m"));
  BOOST_CHECK_NO_THROW(KeyedHash(std::string(64, 'k'), "m"));
  for (size_t size : {0u, 15u, 65u}) {
    BOOST_TEST_INFO("key of " << size << " bytes");
    BOOST_CHECK_THROW(KeyedHash(std::string(size, 'k'), "m"), std::invalid_argument);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
