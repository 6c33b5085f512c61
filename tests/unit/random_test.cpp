#include "util/random.h"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <deque>

namespace phoneverify::util {
namespace {

// Hands out the words it was given, in order, and counts the draws.
class ScriptedWords final : public Random {
 public:
  explicit ScriptedWords(std::deque<uint32_t> words) : words_(std::move(words)) {}
  void Fill(uint8_t* out, size_t len) override {
    ++fills;
    for (size_t i = 0; i + sizeof(uint32_t) <= len; i += sizeof(uint32_t)) {
      const uint32_t word = words_.front();
      words_.pop_front();
      std::memcpy(out + i, &word, sizeof word);
    }
  }
  uint32_t Uniform(uint32_t) override { throw std::logic_error("Digits draws through Fill"); }
  int fills = 0;

 private:
  std::deque<uint32_t> words_;
};

BOOST_AUTO_TEST_SUITE(random)

BOOST_AUTO_TEST_CASE(digits_take_one_draw_and_a_word_each) {
  ScriptedWords words({7, 10, 23, 4294967289u, 1000005, 99});
  BOOST_TEST(words.Digits(6) == "703959");
  BOOST_TEST(words.fills == 1);
}

// A word at or above the largest multiple of 10 below 2^32 would favour 0-5: it is drawn
// again, once for each such word.
BOOST_AUTO_TEST_CASE(digits_draw_again_for_words_that_would_bias_them) {
  ScriptedWords words({4294967290u, 1, 4294967295u, 2, 3, 4});
  BOOST_TEST(words.Digits(4) == "1234");
  BOOST_TEST(words.fills == 2);
}

BOOST_AUTO_TEST_CASE(sodium_digits_are_digits_and_spread_evenly) {
  SodiumRandom random;
  int counts[10] = {};
  for (int i = 0; i < 10000; ++i) {
    const std::string code = random.Digits(6);
    BOOST_REQUIRE_EQUAL(code.size(), 6u);
    for (char c : code) {
      BOOST_REQUIRE(c >= '0' && c <= '9');
      ++counts[c - '0'];
    }
  }
  // 6000 expected each, standard deviation about 73: 8 of them either way.
  for (int count : counts) BOOST_TEST((count > 5400 && count < 6600), "count " << count);
  BOOST_TEST(random.Digits(0).empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
