#include "util/logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "util/json_text.h"

namespace phoneverify::util {
namespace {

std::string IsoNow() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

}  // namespace

Logger::Logger(const std::string& path, std::string component)
    : path_(path), component_(std::move(component)) {
  Reopen();
}

Logger::~Logger() {
  if (fd_ > 2) ::close(fd_);
}

void Logger::Reopen() {
  if (path_.empty()) {
    fd_ = 2;
    return;
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) fd = 2;  // still log somewhere rather than nowhere
  // Other threads may be writing: swap the file under the same descriptor number
  // (dup2 is atomic) instead of closing the one they use.
  if (fd_ > 2 && fd > 2 && ::dup3(fd, fd_, O_CLOEXEC) == fd_) {
    ::close(fd);
    return;
  }
  if (fd_ > 2) ::close(fd_);
  fd_ = fd;
}

void Logger::Info(const std::string& msg, const Json::Value& fields) {
  Write("info", msg, fields);
}
void Logger::Warn(const std::string& msg, const Json::Value& fields) {
  Write("warn", msg, fields);
}
void Logger::Error(const std::string& msg, const Json::Value& fields) {
  Write("error", msg, fields);
}

void Logger::Write(const char* level, const std::string& msg, const Json::Value& fields) {
  // Written by hand rather than through a Json::Value copy and jsoncpp's writer: this
  // runs for every request, and that path cost more than the request's own work.
  const bool has_fields = fields.isObject();
  auto base = [&](const char* name) { return !has_fields || !fields.isMember(name); };
  std::string text;
  text.reserve(256);
  text.push_back('{');
  auto key = [&text](const char* name) {
    if (text.size() > 1) text.push_back(',');
    AppendJsonString(text, name);
    text.push_back(':');
  };
  // A field of the same name replaces the base member.
  auto string_member = [&](const char* name, std::string_view value) {
    if (!base(name)) return;
    key(name);
    AppendJsonString(text, value);
  };
  string_member("ts", IsoNow());
  string_member("level", level);
  string_member("component", component_);
  if (base("pid")) {
    key("pid");
    text += std::to_string(::getpid());
  }
  string_member("msg", msg);
  for (auto it = fields.begin(); has_fields && it != fields.end(); ++it) {
    const char* end = nullptr;
    const char* name = it.memberName(&end);
    if (text.size() > 1) text.push_back(',');
    AppendJsonString(text, std::string_view(name, static_cast<size_t>(end - name)));
    text.push_back(':');
    AppendJson(text, *it);
  }
  text += "}\n";
  ssize_t ignored = ::write(fd_, text.data(), text.size());
  (void)ignored;  // a full disk must not take the request down with it
}

}  // namespace phoneverify::util
