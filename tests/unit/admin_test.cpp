// phoneverify-admin's pure parts: command-line parsing, formatting, failure keys.
#include "admin/admin.h"

#include <stdlib.h>
#include <time.h>

#include <boost/test/unit_test.hpp>
#include <sstream>

#include "admin/format.h"
#include "storage/admin_repository.h"

namespace phoneverify::admin {
namespace {

struct Parsed {
  std::optional<Invocation> invocation;
  int exit_code = -1;
  std::string out;
  std::string err;
};

Parsed Parse(std::vector<std::string> args) {
  Parsed p;
  std::ostringstream out, err;
  p.invocation = ParseCommandLine(args, out, err, &p.exit_code);
  p.out = out.str();
  p.err = err.str();
  return p;
}

// Runs a test body in UTC+05:45 (Nepal), restoring TZ afterwards.
struct NepalTime {
  NepalTime() {
    if (const char* tz = std::getenv("TZ")) old = tz, had = true;
    ::setenv("TZ", "Asia/Kathmandu", 1);
    ::tzset();
  }
  ~NepalTime() {
    if (had) {
      ::setenv("TZ", old.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  std::string old;
  bool had = false;
};

BOOST_AUTO_TEST_SUITE(admin_command_line)

BOOST_AUTO_TEST_CASE(global_help_lists_commands_and_exits_0) {
  Parsed p = Parse({"--help"});
  BOOST_TEST(!p.invocation.has_value());
  BOOST_TEST(p.exit_code == kExitOk);
  for (const Command& command : Commands()) {
    BOOST_TEST(p.out.find(std::string("  ") + command.name + " ") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(no_command_unknown_command_and_bad_options_exit_2) {
  BOOST_TEST(Parse({}).exit_code == kExitUsage);
  Parsed unknown = Parse({"nope"});
  BOOST_TEST(unknown.exit_code == kExitUsage);
  BOOST_TEST(unknown.err.find("unknown command 'nope'") != std::string::npos);
  BOOST_TEST(Parse({"--bogus", "accounts"}).exit_code == kExitUsage);
  BOOST_TEST(Parse({"accounts", "--bogus"}).exit_code == kExitUsage);
  BOOST_TEST(Parse({"accounts", "--limit", "x"}).exit_code == kExitUsage);
  BOOST_TEST(Parse({"account"}).exit_code == kExitUsage);
  BOOST_TEST(Parse({"account", "a", "b"}).exit_code == kExitUsage);
}

BOOST_AUTO_TEST_CASE(command_help_and_help_command_agree) {
  Parsed a = Parse({"unlock", "--help"});
  Parsed b = Parse({"help", "unlock"});
  BOOST_TEST(a.exit_code == kExitOk);
  BOOST_TEST(a.out == b.out);
  BOOST_TEST(a.out.find("Usage: phoneverify-admin [--config PATH] unlock PHONE") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(config_option_and_arguments_reach_the_command) {
  Parsed p = Parse({"--config", "/etc/x.conf", "retry", "5", "7"});
  BOOST_REQUIRE(p.invocation.has_value());
  BOOST_TEST(p.invocation->config_path == "/etc/x.conf");
  BOOST_TEST(std::string(p.invocation->command->name) == "retry");
  BOOST_TEST((p.invocation->vars["id"].as<std::vector<int64_t>>() == std::vector<int64_t>{5, 7}));
  Parsed q = Parse({"accounts", "--inactive", "--limit", "3"});
  BOOST_REQUIRE(q.invocation.has_value());
  BOOST_TEST(q.invocation->vars["limit"].as<int>() == 3);
  BOOST_TEST(q.invocation->vars.count("inactive") == 1u);
}

BOOST_AUTO_TEST_CASE(client_takes_an_action_a_name_and_settings_kept_as_text) {
  Parsed p = Parse({"client", "update", "shop", "--brand", "", "--ttl", "90", "--grace=5"});
  BOOST_REQUIRE(p.invocation.has_value());
  BOOST_TEST(std::string(p.invocation->command->name) == "client");
  const Vars& vars = p.invocation->vars;
  BOOST_TEST(vars["action"].as<std::string>() == "update");
  BOOST_TEST(vars["name"].as<std::string>() == "shop");
  BOOST_TEST(vars["brand"].as<std::string>().empty());  // "" unsets: kept, not dropped
  BOOST_TEST(vars["ttl"].as<std::string>() == "90");
  BOOST_TEST(vars["grace"].as<std::string>() == "5");
  BOOST_TEST(vars.count("code-length") == 0u);
  Parsed equals = Parse({"client", "update", "shop", "--brand=", "--ttl=7"});
  BOOST_REQUIRE(equals.invocation.has_value());
  BOOST_TEST(equals.invocation->vars["brand"].as<std::string>().empty());
  BOOST_TEST(equals.invocation->vars["ttl"].as<std::string>() == "7");
  BOOST_TEST(Parse({"client"}).exit_code == kExitUsage);  // ACTION missing
  BOOST_TEST(Parse({"client", "show", "a", "b"}).exit_code == kExitUsage);
  BOOST_TEST(Parse({"client", "create", "a", "--bogus"}).exit_code == kExitUsage);
  Parsed help = Parse({"client", "--help"});
  BOOST_TEST(help.exit_code == kExitOk);
  BOOST_TEST(help.out.find("rotate-key NAME [--grace S]") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(admin_format)

BOOST_AUTO_TEST_CASE(durations_and_relative_times) {
  BOOST_TEST(FormatDuration(0) == "0s");
  BOOST_TEST(FormatDuration(59) == "59s");
  BOOST_TEST(FormatDuration(250) == "4m10s");
  BOOST_TEST(FormatDuration(7500) == "2h05m");
  BOOST_TEST(FormatDuration(3 * 86400 + 4 * 3600) == "3d04h");
  BOOST_TEST(FormatDuration(-61) == "-1m01s");
  BOOST_TEST(Relative(1000, 1000) == "now");
  BOOST_TEST(Relative(1060, 1000) == "in 1m00s");
  BOOST_TEST(Relative(940, 1000) == "1m00s ago");
  BOOST_TEST(Relative(0, 1000) == "-");
}

BOOST_AUTO_TEST_CASE(phones_are_masked_unless_shown) {
  BOOST_TEST(ShowPhone("9841234567", false) == "98******67");
  BOOST_TEST(ShowPhone("9841234567", true) == "9841234567");
  BOOST_TEST(ShowPhone("", true) == "-");
}

BOOST_AUTO_TEST_CASE(a_local_day_spans_24_hours_in_nepal_time) {
  NepalTime tz;
  auto day = LocalDay("2024-05-01");
  BOOST_REQUIRE(day.has_value());
  BOOST_TEST(day->second - day->first == 86400);
  BOOST_TEST(day->first == 1714500900);  // 2024-04-30T18:15:00Z
  BOOST_TEST(LocalDate(day->first) == "2024-05-01");
  BOOST_TEST(LocalDate(day->first - 1) == "2024-04-30");
  BOOST_TEST(LocalOffset(day->first) == "+0545");
  BOOST_TEST(FormatTime(day->first) == "2024-05-01 00:00:00");
  BOOST_TEST(!LocalDay("2024-02-30").has_value());
  BOOST_TEST(!LocalDay("2024-5-1").has_value());
  BOOST_TEST(!LocalDay("yesterday").has_value());
}

BOOST_AUTO_TEST_CASE(tables_align_columns) {
  Table table({"ID", "NAME"});
  table.Add({"1", "sita"});
  table.Add({"1000", "ram"});
  std::ostringstream out;
  table.Print(out);
  BOOST_TEST(out.str() == "ID    NAME\n1     sita\n1000  ram\n");
  BOOST_TEST(table.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(admin_failure_keys)

BOOST_AUTO_TEST_CASE(failures_split_into_gateway_code_and_reason) {
  auto sparrow = storage::SplitFailure("sparrow 1007: Invalid Receiver");
  BOOST_TEST(sparrow.key == "sparrow 1007");
  BOOST_TEST(sparrow.reason == "Invalid Receiver");
  auto remarked = storage::SplitFailure(std::string("sparrow 1012: No Credits Available") +
                                        storage::kResendAllowedRemark);
  BOOST_TEST(remarked.key == "sparrow 1012");
  BOOST_TEST(remarked.reason == "No Credits Available");
  BOOST_TEST(storage::SplitFailure("expired").key == "expired");
  BOOST_TEST(storage::SplitFailure("expired").reason == "");
  BOOST_TEST(storage::SplitFailure("").key == "(no reason recorded)");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::admin
