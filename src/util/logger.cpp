#include "util/logger.h"

#include <fcntl.h>
#include <json/writer.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

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
  Json::Value line(Json::objectValue);
  line["ts"] = IsoNow();
  line["level"] = level;
  line["component"] = component_;
  line["pid"] = static_cast<Json::Int>(::getpid());
  line["msg"] = msg;
  if (fields.isObject()) {
    for (const auto& name : fields.getMemberNames()) line[name] = fields[name];
  }
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  std::string text = Json::writeString(builder, line);
  text.push_back('\n');
  ssize_t ignored = ::write(fd_, text.data(), text.size());
  (void)ignored;  // a full disk must not take the request down with it
}

}  // namespace phoneverify::util
