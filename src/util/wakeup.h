// Wake-ups between processes on one host over a unix datagram socket: the SMS dispatcher
// binds it (WakeReceiver) and sleeps on it; FastCGI workers send an empty datagram
// (WakeSender) after queueing a message, so the dispatcher neither polls busily nor
// waits out its poll interval. Best effort by design: a lost wake-up only delays a
// message until the dispatcher's next poll.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"
#include "util/unique_fd.h"
#include "util/unix_socket.h"

namespace phoneverify::util {

class WakeSender {
 public:
  // Does not connect: each Notify() is one sendto, so the receiver may come and go.
  explicit WakeSender(std::string path);

  // One datagram; never blocks, never fails loudly (no receiver, full queue: dropped).
  // True when a receiver's queue took it. Thread-safe.
  bool Notify() const;

 private:
  std::string path_;
  UniqueFd fd_;
};

class WakeReceiver {
 public:
  // Binds a non-blocking datagram socket at `path`, replacing a stale socket file there
  // (not another kind of file). Errors name the path.
  static Result<WakeReceiver> Bind(const std::string& path);
  ~WakeReceiver();  // closes; unlinks the path if it still names this socket
  WakeReceiver(WakeReceiver&& other) noexcept = default;
  WakeReceiver& operator=(WakeReceiver&&) = delete;

  int fd() const { return fd_.get(); }
  // Reads every datagram waiting; returns how many.
  int Drain();

 private:
  WakeReceiver(UniqueFd fd, std::string path, FileIdentity identity)
      : fd_(std::move(fd)), path_(std::move(path)), identity_(identity) {}
  UniqueFd fd_;
  std::string path_;
  FileIdentity identity_;  // of the socket file, so a successor's is never unlinked
};

}  // namespace phoneverify::util
