// Unix-domain socket paths, in one place for the FastCGI listening socket and the
// dispatcher's wake-up socket: the address, and the identity of the file a socket made so
// that its owner unlinks only its own file, never a successor's.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <optional>
#include <string>

namespace phoneverify::util {

// The address for `path`; nullopt when the path is empty or too long for sun_path.
std::optional<sockaddr_un> UnixAddress(const std::string& path);

// Which file a path names (device and inode, by lstat); nullopt when it names none.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
};
std::optional<FileIdentity> IdentityOf(const std::string& path);

// Unlinks `path` when it still names the file `identity` describes.
void UnlinkIfSame(const std::string& path, const FileIdentity& identity);

}  // namespace phoneverify::util
