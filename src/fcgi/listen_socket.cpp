#include "fcgi/listen_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace phoneverify::fcgi {
namespace {

util::Error SocketError(const std::string& what) {
  return util::Error::Make(util::ErrorKind::kInternal, "fcgi_socket", "fcgi_socket: " + what,
                           "fcgi_socket");
}

std::string Errno() { return std::strerror(errno); }

util::Status GiveToGroup(const std::string& path, const std::string& group) {
  if (group.empty()) return util::Status::Ok();
  std::vector<char> buffer(16384);
  struct group entry {};
  struct group* found = nullptr;
  if (::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return util::Error::Make(util::ErrorKind::kInternal, "fcgi_socket_group",
                             "fcgi_socket_group: no such group: " + group, "fcgi_socket_group");
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
    return util::Error::Make(util::ErrorKind::kInternal, "fcgi_socket_group",
                             "fcgi_socket_group: cannot give " + path + " to " + group + ": " +
                                 Errno(),
                             "fcgi_socket_group");
  }
  return util::Status::Ok();
}

// True when something accepts connections on `path`.
bool SomeoneListens(const sockaddr_un& address) {
  const util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

util::Status RemoveStale(const std::string& path, const sockaddr_un& address) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return util::Status::Ok();
    return SocketError(path + ": " + Errno());
  }
  if (!S_ISSOCK(st.st_mode)) return SocketError(path + " exists and is not a socket");
  if (SomeoneListens(address)) {
    return SocketError("another server is already listening on " + path);
  }
  if (::unlink(path.c_str()) != 0) return SocketError("cannot remove " + path + ": " + Errno());
  return util::Status::Ok();
}

}  // namespace

util::Result<ListenSocket> ListenSocket::Open(const std::string& path, int backlog,
                                              const std::string& group) {
  const std::optional<sockaddr_un> address = util::UnixAddress(path);
  if (!address) return SocketError("path empty or too long: " + path);
  if (auto st = RemoveStale(path, *address); !st.ok()) return st.error();
  ListenSocket sock(util::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)), path);
  const int fd = sock.fd();
  if (fd < 0) return SocketError("socket(): " + Errno());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    return SocketError("cannot bind " + path + ": " + Errno());
  }
  // Only our user and the web server's group may connect, whatever the directory allows.
  if (::chmod(path.c_str(), 0660) != 0) return SocketError("chmod " + path + ": " + Errno());
  if (auto st = GiveToGroup(path, group); !st.ok()) return st.error();
  const std::optional<util::FileIdentity> identity = util::IdentityOf(path);
  if (!identity) return SocketError("stat " + path + ": " + Errno());
  sock.identity_ = *identity;
  if (::listen(fd, backlog) != 0) return SocketError("listen(): " + Errno());
  if (!SetNonBlocking(fd)) return SocketError("fcntl(O_NONBLOCK): " + Errno());
  return sock;
}

bool SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  return ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool StdinIsListeningSocket() {
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) return false;
  return listening != 0;
}

}  // namespace phoneverify::fcgi
