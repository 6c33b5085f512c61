#include "util/unix_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace phoneverify::util {

std::optional<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) return std::nullopt;
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

std::optional<FileIdentity> IdentityOf(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

void UnlinkIfSame(const std::string& path, const FileIdentity& identity) {
  const auto now = IdentityOf(path);
  if (now && now->dev == identity.dev && now->ino == identity.ino) ::unlink(path.c_str());
}

}  // namespace phoneverify::util
