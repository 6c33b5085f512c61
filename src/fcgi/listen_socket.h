// The master's listening unix socket. Opened without libfcgi's FCGX_OpenSocket, which
// unlinks any existing path unconditionally (stealing a running instance's socket) and
// calls exit() when bind fails.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"

namespace phoneverify::fcgi {

class ListenSocket {
 public:
  // Removes a stale socket at `path` (refusing when a server still answers on it, or
  // when the path is not a socket), binds, makes it connectable by the web server
  // (mode 0666: access is governed by the directory), listens, and sets O_NONBLOCK.
  // Errors name the fcgi_socket key.
  static util::Result<ListenSocket> Open(const std::string& path, int backlog);

  ~ListenSocket();
  ListenSocket(const ListenSocket&) = delete;
  ListenSocket& operator=(const ListenSocket&) = delete;
  ListenSocket(ListenSocket&& other) noexcept;
  ListenSocket& operator=(ListenSocket&& other) noexcept;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Unlinks the path if it still names this socket (not one a successor created).
  void Unlink() const;

 private:
  ListenSocket(int fd, std::string path, dev_t dev, ino_t ino)
      : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  void Close();

  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Sets O_NONBLOCK on `fd`; false on failure.
bool SetNonBlocking(int fd);

// True when fd 0 is a listening socket (started by mod_fcgid or spawn-fcgi).
bool StdinIsListeningSocket();

}  // namespace phoneverify::fcgi
