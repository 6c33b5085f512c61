#include "sms/console_gateway.h"

#include <fcntl.h>
#include <json/value.h>
#include <json/writer.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/unique_fd.h"

namespace phoneverify::sms {
namespace {

SendResult Failure(const std::string& reason) {
  SendResult result;
  result.kind = SendResult::Kind::kTransient;
  result.detail = "sms log: " + reason;
  return result;
}

std::string JsonLine(const std::string& to, const std::string& text) {
  Json::Value line(Json::objectValue);
  line["to"] = to;
  line["text"] = text;
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  return Json::writeString(builder, line) + "\n";
}

}  // namespace

SendResult ConsoleGateway::Send(const std::string& to, const std::string& text) {
  // Opened per message so rotation or deletion of the file needs no signal.
  const util::UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return Failure(std::strerror(errno));
  const std::string line = JsonLine(to, text);
  ssize_t written;
  do {
    written = ::write(fd.get(), line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return Failure(std::strerror(errno));
  if (static_cast<size_t>(written) != line.size()) return Failure("short write");
  SendResult result;
  result.kind = SendResult::Kind::kDelivered;
  return result;
}

}  // namespace phoneverify::sms
