// fake-sparrow: the fake SMS gateway (Sparrow's /v2/sms/ and the http backend's /http-sms/,
// tests/fakes/fake_sparrow.h) as a foreground process, for `make run` demos and benchmarks.
// Listens on 127.0.0.1, or on --host (make cluster's tests: 10.77.0.1, on its bridge).
//
//   fake-sparrow --port N [--host IPV4] [--delay-ms M] [--mode ok|500|drop|403:CODE] [--token T]
//                [--log FILE]
//
// --mode applies to both SMS routes (403:CODE is a 400 on /http-sms/). Each SMS request is
// appended to FILE as one JSON line {"ts_ms","kind","to","from","text"}, plus "token_ok"
// for kind "sparrow" (the token itself is not written) and "id" for kind "http".
// GET /stats gives the load figures (requests answered, in flight now and at most,
// connections). Prints the URL on stdout once listening; SIGINT/SIGTERM stop it cleanly.
#include <fcntl.h>
#include <json/value.h>
#include <json/writer.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "fakes/fake_sparrow.h"

namespace {

using phoneverify::fakes::FakeSparrow;
using phoneverify::fakes::SparrowRequest;

struct Args {
  int port = 0;
  std::string host = "127.0.0.1";
  int delay_ms = 0;
  std::string mode = "ok";
  std::string token;
  std::string log;
};

int Usage(const char* problem) {
  if (problem != nullptr) std::cerr << "fake-sparrow: " << problem << "\n";
  std::cerr << "usage: fake-sparrow --port N [--host IPV4] [--delay-ms M] [--mode ok|500|drop|403:CODE]"
               " [--token T] [--log FILE]\n";
  return 2;
}

std::optional<int> ParseInt(const std::string& text, int min, int max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max) {
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<Args> ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (flag == "--port" || flag == "--delay-ms") {
      const auto number = ParseInt(value, 0, flag == "--port" ? 65535 : 3'600'000);
      if (!number) return std::nullopt;
      (flag == "--port" ? args.port : args.delay_ms) = *number;
    } else if (flag == "--host") {
      args.host = value;
    } else if (flag == "--mode") {
      args.mode = value;
    } else if (flag == "--token") {
      args.token = value;
    } else if (flag == "--log") {
      args.log = value;
    } else {
      return std::nullopt;
    }
  }
  return args;
}

std::optional<FakeSparrow::Reply> ParseMode(const Args& args) {
  if (args.mode == "ok") {
    return args.delay_ms > 0 ? FakeSparrow::Delay(args.delay_ms) : FakeSparrow::Ok();
  }
  if (args.mode == "500") return FakeSparrow::Http500();
  if (args.mode == "drop") return FakeSparrow::Drop();
  if (args.mode.rfind("403:", 0) == 0) {
    const auto code = ParseInt(args.mode.substr(4), 1000, 1013);
    if (code) return FakeSparrow::Error403(*code);
  }
  return std::nullopt;
}

void AppendLine(int fd, const SparrowRequest& request, const std::string& expected_token) {
  Json::Value line(Json::objectValue);
  line["ts_ms"] = static_cast<Json::Int64>(request.at_ms);
  line["kind"] = request.kind;
  if (request.kind == "http") line["id"] = request.id;
  line["to"] = request.to;
  line["from"] = request.from;
  line["text"] = request.text;
  if (request.kind == "sparrow") {
    line["token_ok"] =
        expected_token.empty() ? !request.token.empty() : request.token == expected_token;
  }
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  const std::string text = Json::writeString(builder, line) + "\n";
  ssize_t ignored = ::write(fd, text.data(), text.size());  // one write: lines never mix
  (void)ignored;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = ParseArgs(argc, argv);
  if (!args) return Usage("bad arguments");
  const auto reply = ParseMode(*args);
  if (!reply) return Usage("bad --mode");
  int log_fd = -1;
  if (!args->log.empty()) {
    log_fd = ::open(args->log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      std::cerr << "fake-sparrow: " << args->log << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  // Block the stop signals before any thread starts so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FakeSparrow::Options options;
  options.port = args->port;
  options.host = args->host;
  options.keep_requests = false;
  options.expected_token = args->token;
  if (log_fd >= 0) {
    options.on_request = [log_fd, token = args->token](const SparrowRequest& request) {
      AppendLine(log_fd, request, token);
    };
  }
  FakeSparrow server(options);
  if (!server.ok()) {
    std::cerr << "fake-sparrow: " << server.error() << "\n";
    return 1;
  }
  server.SetMode(*reply);
  std::cout << "fake-sparrow listening on " << server.Url() << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "fake-sparrow: stopping (" << server.RequestCount() << " requests)" << std::endl;
  return 0;
}
