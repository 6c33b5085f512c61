// Structured logs: one JSON object per line, appended with a single write() so lines from
// several processes never interleave. Callers pass only safe fields: never a code, a
// password, a token or the Sparrow token; phones go through domain::MaskPhone first.
#pragma once

#include <json/value.h>

#include <string>

namespace phoneverify::util {

class Logger {
 public:
  // Opens `path` for appending (creating it 0640); an empty path logs to stderr.
  explicit Logger(const std::string& path, std::string component);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Adds "ts" (ISO-8601 UTC), "level", "component", "msg", then `fields` members.
  void Info(const std::string& msg, const Json::Value& fields = Json::Value());
  void Warn(const std::string& msg, const Json::Value& fields = Json::Value());
  void Error(const std::string& msg, const Json::Value& fields = Json::Value());
  // Reopens the file (after log rotation). Thread-safe with concurrent writes: the new
  // file takes over the same descriptor number.
  void Reopen();

 private:
  void Write(const char* level, const std::string& msg, const Json::Value& fields);
  std::string path_;
  std::string component_;
  int fd_ = -1;
};

}  // namespace phoneverify::util
