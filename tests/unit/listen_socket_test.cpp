// fcgi::ListenSocket: the FastCGI socket is 0660, for our user and one group only.
#include "fcgi/listen_socket.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

namespace phoneverify::fcgi {
namespace {

struct TempDir {
  std::string path =
      std::filesystem::temp_directory_path().string() + "/pv-listen-" + std::to_string(::getpid());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct stat StatOf(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

BOOST_AUTO_TEST_SUITE(listen_socket)

BOOST_AUTO_TEST_CASE(the_socket_is_0660_with_the_processs_group_by_default) {
  TempDir dir;
  auto socket = ListenSocket::Open(dir.path + "/fcgi.sock", 8);
  BOOST_REQUIRE(socket.ok());
  const struct stat st = StatOf(dir.path + "/fcgi.sock");
  BOOST_TEST((st.st_mode & 07777) == 0660u);
  BOOST_TEST(st.st_gid == ::getegid());
}

BOOST_AUTO_TEST_CASE(a_named_group_gets_the_socket) {
  TempDir dir;
  const struct group* own = ::getgrgid(::getegid());
  BOOST_REQUIRE(own != nullptr);
  auto socket = ListenSocket::Open(dir.path + "/fcgi.sock", 8, own->gr_name);
  BOOST_REQUIRE(socket.ok());
  BOOST_TEST(StatOf(dir.path + "/fcgi.sock").st_gid == own->gr_gid);
}

BOOST_AUTO_TEST_CASE(an_unknown_group_is_refused_naming_the_key) {
  TempDir dir;
  auto socket = ListenSocket::Open(dir.path + "/fcgi.sock", 8, "no-such-group-pv");
  BOOST_REQUIRE(!socket.ok());
  BOOST_TEST(socket.error().field == "fcgi_socket_group");
  BOOST_TEST(socket.error().details.find("no-such-group-pv") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::fcgi
