#include "fcgi/listen_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace phoneverify::fcgi {
namespace {

util::Error SocketError(const std::string& what) {
  return util::Error::Make(util::ErrorKind::kInternal, "fcgi_socket", "fcgi_socket: " + what,
                           "fcgi_socket");
}

std::string Errno() { return std::strerror(errno); }

bool FillAddress(const std::string& path, sockaddr_un* address) {
  std::memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address->sun_path) return false;
  std::memcpy(address->sun_path, path.data(), path.size());
  return true;
}

// True when something accepts connections on `path`.
bool SomeoneListens(const sockaddr_un& address) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
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

util::Result<ListenSocket> ListenSocket::Open(const std::string& path, int backlog) {
  sockaddr_un address;
  if (!FillAddress(path, &address)) return SocketError("path empty or too long: " + path);
  if (auto st = RemoveStale(path, address); !st.ok()) return st.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("socket(): " + Errno());
  ListenSocket sock(fd, path, 0, 0);  // closes fd on every early return below
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return SocketError("cannot bind " + path + ": " + Errno());
  }
  // The web server runs as another user; who may reach the socket is decided by the
  // permissions of its directory (var/run), not by the socket's own mode.
  if (::chmod(path.c_str(), 0666) != 0) return SocketError("chmod " + path + ": " + Errno());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return SocketError("stat " + path + ": " + Errno());
  sock.dev_ = st.st_dev;
  sock.ino_ = st.st_ino;
  if (::listen(fd, backlog) != 0) return SocketError("listen(): " + Errno());
  if (!SetNonBlocking(fd)) return SocketError("fcntl(O_NONBLOCK): " + Errno());
  return sock;
}

ListenSocket::~ListenSocket() { Close(); }

ListenSocket::ListenSocket(ListenSocket&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), dev_(other.dev_), ino_(other.ino_) {
  other.fd_ = -1;
}

ListenSocket& ListenSocket::operator=(ListenSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    dev_ = other.dev_;
    ino_ = other.ino_;
    other.fd_ = -1;
  }
  return *this;
}

void ListenSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ListenSocket::Unlink() const {
  struct stat st {};
  if (path_.empty() || ::lstat(path_.c_str(), &st) != 0) return;
  if (st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
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
