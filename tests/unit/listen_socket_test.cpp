// fcgi::ListenSocket: the FastCGI socket is 0660, for our user and one group only.
#include "fcgi/listen_socket.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

// Port 0: the kernel picks a free one, so parallel runs never collide.
BOOST_AUTO_TEST_CASE(a_tcp_address_listens_and_accepts_a_connection) {
  auto socket = ListenSocket::OpenTcp("127.0.0.1:0", 8);
  BOOST_REQUIRE(socket.ok());
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  BOOST_REQUIRE(::getsockname(socket.value().fd(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
  BOOST_TEST(ntohs(bound.sin_port) != 0);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(client >= 0);
  BOOST_TEST(::connect(client, reinterpret_cast<sockaddr*>(&bound), sizeof bound) == 0);
  ::close(client);
  socket.value().Unlink();  // no path: nothing happens
}

BOOST_AUTO_TEST_CASE(a_tcp_address_without_a_port_or_not_numeric_is_refused_naming_the_key) {
  for (const char* bad : {"127.0.0.1", "localhost:9000", ":9000", "10.0.0.1:x"}) {
    auto socket = ListenSocket::OpenTcp(bad, 8);
    BOOST_REQUIRE(!socket.ok());
    BOOST_TEST(socket.error().field == "fcgi_listen");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::fcgi
