// The master's listening unix socket. Opened without libfcgi's FCGX_OpenSocket, which
// unlinks any existing path unconditionally (stealing a running instance's socket) and
// calls exit() when bind fails.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"
#include "util/unique_fd.h"
#include "util/unix_socket.h"

namespace phoneverify::fcgi {

class ListenSocket {
 public:
  // Removes a stale socket at `path` (refusing when a server still answers on it, or
  // when the path is not a socket), binds, makes it connectable by its owner and by
  // `group` only (mode 0660; "" keeps the process's group; the web server's group in
  // production), listens, and sets O_NONBLOCK. Errors name the fcgi_socket key, or
  // fcgi_socket_group for a group that does not exist or is not ours to give.
  static util::Result<ListenSocket> Open(const std::string& path, int backlog,
                                         const std::string& group = "");

  // Binds a TCP socket on `address` ("10.77.0.21:9000", "[::1]:9000"; a numeric address,
  // not a name) for a web server on another host (section 8 of the contract: fcgi_listen).
  // SO_REUSEADDR so a restarted master binds at once; O_NONBLOCK like Open. Errors name
  // the fcgi_listen key.
  static util::Result<ListenSocket> OpenTcp(const std::string& address, int backlog);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Unlinks the path if it still names this socket (not one a successor created); a TCP
  // socket has no path and nothing to unlink.
  void Unlink() const {
    if (!path_.empty()) util::UnlinkIfSame(path_, identity_);
  }

 private:
  ListenSocket(util::UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}

  util::UniqueFd fd_;
  std::string path_;
  util::FileIdentity identity_;
};

// Sets O_NONBLOCK on `fd`; false on failure.
bool SetNonBlocking(int fd);

// True when fd 0 is a listening socket (started by mod_fcgid or spawn-fcgi).
bool StdinIsListeningSocket();

}  // namespace phoneverify::fcgi
