#include "util/wakeup.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace phoneverify::util {
namespace {

Error BindError(const std::string& path, const std::string& why) {
  return Error::Make(ErrorKind::kInternal, "wakeup_socket",
                     "dispatcher_socket " + path + ": " + why);
}

}  // namespace

WakeSender::WakeSender(std::string path)
    : path_(std::move(path)),
      fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

bool WakeSender::Notify() const {
  const std::optional<sockaddr_un> addr = UnixAddress(path_);
  if (!fd_.valid() || !addr) return false;
  const char byte = 0;
  // Best effort: see the header.
  return ::sendto(fd_.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 1;
}

Result<WakeReceiver> WakeReceiver::Bind(const std::string& path) {
  const std::optional<sockaddr_un> addr = UnixAddress(path);
  if (!addr) return BindError(path, "path empty or too long");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return BindError(path, "exists and is not a socket");
    ::unlink(path.c_str());  // a datagram socket cannot be probed for a live owner
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return BindError(path, std::strerror(errno));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    return BindError(path, std::strerror(errno));
  }
  ::chmod(path.c_str(), 0600);  // only our own user's workers wake us
  return WakeReceiver(std::move(fd), path, IdentityOf(path).value_or(FileIdentity{}));
}

WakeReceiver::~WakeReceiver() {
  if (fd_.valid()) UnlinkIfSame(path_, identity_);
}
int WakeReceiver::Drain() {
  int count = 0;
  char buf[16];
  while (::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0) ++count;
  return count;
}

}  // namespace phoneverify::util
