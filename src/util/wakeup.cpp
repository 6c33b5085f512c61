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

bool MakeAddress(const std::string& path, sockaddr_un& addr) {
  addr = sockaddr_un{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

Error BindError(const std::string& path, const std::string& why) {
  return Error::Make(ErrorKind::kInternal, "wakeup_socket",
                     "dispatcher_socket " + path + ": " + why);
}

}  // namespace

WakeSender::WakeSender(std::string path)
    : path_(std::move(path)),
      fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

WakeSender::~WakeSender() {
  if (fd_ >= 0) ::close(fd_);
}

void WakeSender::Notify() const {
  sockaddr_un addr;
  if (fd_ < 0 || !MakeAddress(path_, addr)) return;
  const char byte = 0;
  ssize_t ignored = ::sendto(fd_, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  (void)ignored;  // best effort: see the header
}

Result<WakeReceiver> WakeReceiver::Bind(const std::string& path) {
  sockaddr_un addr;
  if (!MakeAddress(path, addr)) return BindError(path, "path empty or too long");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return BindError(path, "exists and is not a socket");
    ::unlink(path.c_str());  // a datagram socket cannot be probed for a live owner
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return BindError(path, std::strerror(errno));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return BindError(path, why);
  }
  ::chmod(path.c_str(), 0600);  // only our own user's workers wake us
  struct stat bound {};
  ::lstat(path.c_str(), &bound);
  return WakeReceiver(fd, path, bound.st_dev, bound.st_ino);
}

WakeReceiver::WakeReceiver(WakeReceiver&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      dev_(other.dev_),
      ino_(other.ino_) {}

WakeReceiver::~WakeReceiver() {
  if (fd_ < 0) return;
  ::close(fd_);
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
}

int WakeReceiver::Drain() {
  int count = 0;
  char buf[16];
  while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++count;
  return count;
}

}  // namespace phoneverify::util
