#include "fcgi/listen_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
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

util::Error TcpError(const std::string& what) {
  return util::Error::Make(util::ErrorKind::kInternal, "fcgi_listen", "fcgi_listen: " + what,
                           "fcgi_listen");
}

// "host:port" or "[v6]:port" into its two parts; false when it has no port.
bool SplitHostPort(const std::string& text, std::string& host, std::string& port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty();
}

}  // namespace

util::Result<ListenSocket> ListenSocket::OpenTcp(const std::string& address, int backlog) {
  std::string host, port;
  if (!SplitHostPort(address, host, port)) return TcpError("want ADDRESS:PORT, got " + address);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return TcpError("not a numeric address and port: " + address);
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> info(found, &::freeaddrinfo);
  ListenSocket sock(
      util::UniqueFd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0)), "");
  const int fd = sock.fd();
  if (fd < 0) return TcpError("socket(): " + Errno());
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    return TcpError("cannot bind " + address + ": " + Errno());
  }
  if (::listen(fd, backlog) != 0) return TcpError("listen(): " + Errno());
  if (!SetNonBlocking(fd)) return TcpError("fcntl(O_NONBLOCK): " + Errno());
  return sock;
}

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
