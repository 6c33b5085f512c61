// Wake-ups between processes on one host over a unix datagram socket: the SMS dispatcher
// binds it (WakeReceiver) and sleeps on it; FastCGI workers send an empty datagram
// (WakeSender) after queueing a message, so the dispatcher neither polls busily nor
// waits out its poll interval. Best effort by design: a lost wake-up only delays a
// message until the dispatcher's next poll.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"

namespace phoneverify::util {

class WakeSender {
 public:
  // Does not connect: each Notify() is one sendto, so the receiver may come and go.
  explicit WakeSender(std::string path);
  ~WakeSender();
  WakeSender(const WakeSender&) = delete;
  WakeSender& operator=(const WakeSender&) = delete;

  // One datagram; never blocks, never fails loudly (no receiver, full queue: dropped).
  // Thread-safe.
  void Notify() const;

 private:
  std::string path_;
  int fd_ = -1;
};

class WakeReceiver {
 public:
  // Binds a non-blocking datagram socket at `path`, replacing a stale socket file there
  // (not another kind of file). Errors name the path.
  static Result<WakeReceiver> Bind(const std::string& path);
  ~WakeReceiver();  // closes; unlinks the path if it still names this socket
  WakeReceiver(WakeReceiver&& other) noexcept;
  WakeReceiver& operator=(WakeReceiver&&) = delete;
  WakeReceiver(const WakeReceiver&) = delete;
  WakeReceiver& operator=(const WakeReceiver&) = delete;

  int fd() const { return fd_; }
  // Reads every datagram waiting; returns how many.
  int Drain();

 private:
  WakeReceiver(int fd, std::string path, dev_t dev, ino_t ino)
      : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;  // identity of the socket file, so a successor's is never unlinked
  ino_t ino_ = 0;
};

}  // namespace phoneverify::util
