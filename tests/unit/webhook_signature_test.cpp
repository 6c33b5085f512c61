// util/webhook_signature: Standard Webhooks signatures that a receiver's stock library
// verifies (the scheme's published vector), and secrets refused rather than half-used.
#include "util/webhook_signature.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "util/crypto.h"

namespace phoneverify::util {
namespace {

struct Sodium {
  Sodium() { BOOST_REQUIRE(InitCrypto()); }
};

// The Standard Webhooks reference libraries' sign test (libraries/python/tests/
// test_webhooks.py, test_sign_function, of github.com/standard-webhooks/standard-webhooks).
constexpr const char* kVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kVectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kVectorTimestamp = 1614265330;
constexpr const char* kVectorBody = R"({"test": 2432232314})";
constexpr const char* kVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

BOOST_FIXTURE_TEST_SUITE(webhook_signature, Sodium)

BOOST_AUTO_TEST_CASE(the_published_test_vector_reproduces_exactly) {
  const auto key = ParseWebhookSecret(kVectorSecret);
  BOOST_REQUIRE(key.has_value());
  BOOST_TEST(key->size() == 24u);
  BOOST_TEST(WebhookSignature(*key, kVectorId, kVectorTimestamp, kVectorBody) ==
             kVectorSignature);
}

BOOST_AUTO_TEST_CASE(every_signed_part_changes_the_signature) {
  const std::string key = ParseWebhookSecret(kVectorSecret).value();
  const std::string body = kVectorBody;
  BOOST_TEST(WebhookSignature(key, "msg_other", kVectorTimestamp, body) != kVectorSignature);
  BOOST_TEST(WebhookSignature(key, kVectorId, kVectorTimestamp + 1, body) != kVectorSignature);
  BOOST_TEST(WebhookSignature(key, kVectorId, kVectorTimestamp, body + " ") != kVectorSignature);
  BOOST_TEST(WebhookSignature(key + "x", kVectorId, kVectorTimestamp, body) != kVectorSignature);
}

// HMAC keys longer than SHA-256's block are hashed first: the multi-part API takes them.
BOOST_AUTO_TEST_CASE(keys_of_any_length_sign) {
  for (size_t size : {16u, 32u, 64u, 65u, 200u}) {
    BOOST_TEST_INFO("key of " << size << " bytes");
    const std::string signature = WebhookSignature(std::string(size, 'k'), "id", 1, "{}");
    BOOST_TEST(signature.rfind("v1,", 0) == 0u);
    BOOST_TEST(signature.size() == 3u + 44u);  // base64 of 32 bytes
  }
}

BOOST_AUTO_TEST_CASE(a_32_byte_secret_decodes_to_its_bytes) {
  // base64 of the bytes 0x00..0x1f.
  const auto key = ParseWebhookSecret("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  BOOST_REQUIRE(key.has_value());
  BOOST_TEST(HexEncode(*key) == "000102030405060708090a0b0c0d0e0f"
                                "101112131415161718191a1b1c1d1e1f");
}

BOOST_AUTO_TEST_CASE(a_formatted_secret_is_padded_base64_and_reads_back) {
  const std::string bytes = HexDecode("000102030405060708090a0b0c0d0e0f"
                                      "101112131415161718191a1b1c1d1e1f")
                                .value();
  const std::string secret = FormatWebhookSecret(bytes);
  BOOST_TEST(secret == "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  BOOST_TEST(ParseWebhookSecret(secret).value() == bytes);
  BOOST_TEST(ParseWebhookSecret(FormatWebhookSecret(std::string(24, '\xff'))).value() ==
             std::string(24, '\xff'));
}

BOOST_AUTO_TEST_CASE(bad_secrets_are_refused) {
  for (const char* secret : {
           "",                                        // nothing
           "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        // no prefix
           "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  // prefix in the wrong case
           "whsec_",                                  // no key
           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   // truncated: not a whole quantum
           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La*aSw",  // not base64
           "whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw", // whitespace inside
           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", // trailing whitespace
           "whsec_MfKQ9r8-KYqrTwjUPD8ILPZIo2LaLaSw",  // URL-safe alphabet
           "whsec_AAECAwQFBgcICQoLDA0ODw",            // 16 bytes without the padding
           "whsec_AAECAwQFBgcICQoLDA0O",              // 15 bytes: too short
           "whsec_AAECAwQFBgcICQoLDA0=",              // 14 bytes: too short
       }) {
    BOOST_TEST_CONTEXT("secret '" << secret << "'") {
      BOOST_TEST(!ParseWebhookSecret(secret).has_value());
    }
  }
  // 16 bytes, the least accepted.
  BOOST_TEST(ParseWebhookSecret("whsec_AAECAwQFBgcICQoLDA0ODw==").value_or("").size() == 16u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
