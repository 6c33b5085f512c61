#include "sms/console_gateway.h"

#include <json/reader.h>
#include <json/value.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace phoneverify::sms {
namespace {

using Kind = SendResult::Kind;

struct Fixture {
  std::filesystem::path dir;

  Fixture() {
    char pattern[] = "/tmp/console_gateway_test.XXXXXX";
    BOOST_REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  std::vector<Json::Value> Lines(const std::filesystem::path& path) {
    std::vector<Json::Value> out;
    std::ifstream in(path);
    std::string line;
    Json::CharReaderBuilder builder;
    while (std::getline(in, line)) {
      Json::Value value;
      std::string errors;
      std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
      BOOST_REQUIRE_MESSAGE(reader->parse(line.data(), line.data() + line.size(), &value, &errors),
                            "not JSON: " << line);
      out.push_back(value);
    }
    return out;
  }
};

BOOST_FIXTURE_TEST_SUITE(console_gateway, Fixture)

BOOST_AUTO_TEST_CASE(appends_one_json_line_per_message) {
  const auto path = dir / "sms.log";
  ConsoleGateway gateway(path.string());
  BOOST_TEST(std::string(gateway.Name()) == "console");
  const std::string nepali = "तपाईंको कोड ४८२९१३ हो \"quoted\"\nnext";
  BOOST_TEST(static_cast<int>(gateway.Send("9841234567", "Your code is 123456").kind) ==
             static_cast<int>(Kind::kDelivered));
  BOOST_TEST(static_cast<int>(gateway.Send("9801234567", nepali).kind) ==
             static_cast<int>(Kind::kDelivered));
  const auto lines = Lines(path);
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0]["to"].asString() == "9841234567");
  BOOST_TEST(lines[0]["text"].asString() == "Your code is 123456");
  BOOST_TEST(lines[1]["to"].asString() == "9801234567");
  BOOST_TEST(lines[1]["text"].asString() == nepali);
  BOOST_TEST(lines[1].getMemberNames().size() == 2u);
}

BOOST_AUTO_TEST_CASE(file_is_private_to_the_owner) {
  const auto path = dir / "sms.log";
  ConsoleGateway(path.string()).Send("9841234567", "code 1");
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 077) == 0u);
}

BOOST_AUTO_TEST_CASE(missing_directory_is_transient) {
  ConsoleGateway gateway((dir / "no" / "such" / "sms.log").string());
  const SendResult result = gateway.Send("9841234567", "code 1");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.detail.rfind("sms log: ", 0) == 0);
  BOOST_TEST(result.detail.find("code 1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(file_recreated_after_deletion) {
  const auto path = dir / "sms.log";
  ConsoleGateway gateway(path.string());
  gateway.Send("9841234567", "one");
  std::filesystem::remove(path);
  gateway.Send("9841234567", "two");
  const auto lines = Lines(path);
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0]["text"].asString() == "two");
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave_lines) {
  const auto path = dir / "sms.log";
  constexpr int kThreads = 4;
  constexpr int kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ConsoleGateway gateway(path.string());
      for (int i = 0; i < kEach; ++i) {
        gateway.Send("984000000" + std::to_string(t), std::string(300, 'a' + t));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto lines = Lines(path);
  BOOST_TEST(lines.size() == static_cast<size_t>(kThreads * kEach));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
