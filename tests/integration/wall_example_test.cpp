// conf/nginx-wall-example.conf, as shipped, put in front of a static "existing site" by a
// second nginx that shares the stack's phoneverify-fcgi socket. Only the lines the
// example marks ADJUST are replaced (socket, www/, the site's root, the listen address),
// so a change to the example that breaks the wall fails here.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "api_helpers.h"
#include "form_client.h"
#include "stack.h"

namespace phoneverify::itest {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return text.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Replaces every `from` (which must occur) by `to`.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (text.find(from) == std::string::npos) {
    throw std::runtime_error("conf/nginx-wall-example.conf no longer contains: " + from);
  }
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

int FreePort() {
  // Bind port 0 on loopback, read the port back, release it for nginx.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free port for the example nginx");
  return ntohs(addr.sin_port);
}

// The example site: nginx started on construction, stopped on destruction.
class ExampleSite {
 public:
  ExampleSite() : dir_(fs::absolute(Stack::Get().var_dir()) / "wall-example"), port_(FreePort()) {
    fs::remove_all(dir_);
    WriteText(dir_ / "site/index.html", "<!doctype html><title>Legacy</title><p>legacy home</p>\n");
    WriteText(dir_ / "site/private/report.html",
              "<!doctype html><title>Report</title><p>quarterly secret report</p>\n");
    fs::copy_file("/etc/nginx/fastcgi_params", dir_ / "fastcgi_params");
    fs::create_directories(dir_ / "tmp");
    WriteText(dir_ / "site.conf", RenderExample());
    WriteText(dir_ / "nginx.conf", MainConf());
    const std::string start = Nginx() + " >'" + (dir_ / "start.out").string() + "' 2>&1";
    if (std::system(start.c_str()) != 0) {
      throw std::runtime_error("nginx with the wall example did not start: " +
                               ReadText(dir_ / "start.out"));
    }
    WaitUntilListening();
  }
  ~ExampleSite() {
    const std::string stop = Nginx() + " -s stop >/dev/null 2>&1";
    if (std::system(stop.c_str()) != 0) return;
    for (int i = 0; i < 100 && fs::exists(dir_ / "nginx.pid"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ExampleSite(const ExampleSite&) = delete;
  ExampleSite& operator=(const ExampleSite&) = delete;

  int port() const { return port_; }

 private:
  std::string RenderExample() const {
    const fs::path var = fs::absolute(Stack::Get().var_dir());
    std::string text = ReadText("conf/nginx-wall-example.conf");
    text = ReplaceAll(text, "unix:/srv/phoneverify/var/run/fcgi.sock",
                      "unix:" + (var / "run/fcgi.sock").string());
    text = ReplaceAll(text, "root /srv/phoneverify/www;", "root " + fs::absolute("www").string() + ";");
    text = ReplaceAll(text, "root /var/www/example;", "root " + (dir_ / "site").string() + ";");
    return ReplaceAll(text, "listen 80;", "listen 127.0.0.1:" + std::to_string(port_) + ";");
  }

  std::string MainConf() const {
    const std::string d = dir_.string();
    std::string user;
    if (::geteuid() == 0) {
      // As root, workers would become 'nobody', who cannot reach the 0700 var_dir.
      const passwd* pw = ::getpwuid(::geteuid());
      const group* gr = ::getgrgid(::getegid());
      user = std::string("user ") + pw->pw_name + " " + gr->gr_name + ";\n";
    }
    return user + "worker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
           "/error.log warn;\nevents { worker_connections 64; }\nhttp {\n"
           "  types { text/html html; text/css css; }\n"
           "  default_type application/octet-stream;\n  access_log off;\n"
           "  client_body_temp_path " + d + "/tmp/body;\n  fastcgi_temp_path " + d +
           "/tmp/fastcgi;\n  proxy_temp_path " + d + "/tmp/proxy;\n  uwsgi_temp_path " + d +
           "/tmp/uwsgi;\n  scgi_temp_path " + d + "/tmp/scgi;\n  include " + d +
           "/site.conf;\n}\n";
  }

  std::string Nginx() const {
    const std::string d = dir_.string();
    return "nginx -p '" + d + "/' -c '" + d + "/nginx.conf' -e '" + d + "/error.log'";
  }

  void WaitUntilListening() const {
    for (int i = 0; i < 100; ++i) {
      try {
        FormClient(port_).Get("/static/style.css");
        return;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    throw std::runtime_error("the example nginx does not answer");
  }

  fs::path dir_;
  int port_;
};

BOOST_AUTO_TEST_SUITE(wall_example)

BOOST_AUTO_TEST_CASE(the_shipped_example_puts_a_site_behind_the_wall) {
  ExampleSite site;
  FormClient browser(site.port());
  const std::string page = "/private/report.html";

  // Signed out: sent to sign in, with the way back.
  HttpResponse out = browser.Get(page);
  BOOST_TEST(out.status == 303);
  BOOST_TEST(out.Header("location") == "/login?next=" + page);
  BOOST_TEST(browser.Get("/").Header("location") == "/login?next=/");

  // The pages and the stylesheet are served through the example's own locations.
  HttpResponse login = browser.Get(out.Header("location"));
  BOOST_TEST(login.status == 200);
  BOOST_TEST(login.body.find("name=\"next\"") != std::string::npos);
  BOOST_TEST(browser.Get("/static/style.css").status == 200);
  BOOST_TEST(browser.Get("/auth/check").status == 404);  // internal to nginx

  // Signed up, not verified yet: sent to /verify, again with the way back.
  const std::string username = UniqueName("wall");
  const std::string phone = UniquePhone("982");
  HttpResponse signup = browser.Submit(
      "/signup?next=" + page, "/signup",
      {{"username", username}, {"password", "a long passphrase"}, {"phone", phone}});
  BOOST_TEST(signup.Header("location") == "/verify?next=" + page);
  HttpResponse unverified = browser.Get(page);
  BOOST_TEST(unverified.status == 303);
  BOOST_TEST(unverified.Header("location") == "/verify?next=" + page);

  // Verified: straight back to the page asked for, which is served as before.
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE(!code.empty());
  HttpResponse verified = browser.Submit(unverified.Header("location"), "/verify", {{"otp", code}});
  BOOST_TEST(verified.status == 303);
  BOOST_TEST(verified.Header("location") == page);
  HttpResponse report = browser.Get(page);
  BOOST_TEST(report.status == 200);
  BOOST_TEST(report.body.find("quarterly secret report") != std::string::npos);
  BOOST_TEST(browser.Get("/").body.find("legacy home") != std::string::npos);

  // Signing out closes the wall again.
  browser.Submit("/account", "/logout", {});
  BOOST_TEST(browser.Get(page).status == 303);
}

BOOST_AUTO_TEST_CASE(api_tokens_pass_the_wall_too) {
  ExampleSite site;
  const HttpClient api = Stack::Get().Client();
  TestUser user = NewUser(api);
  FormClient client(site.port());
  const std::vector<std::string> auth = {"Authorization: Token " + user.token};
  BOOST_TEST(client.Get("/private/report.html", auth).Header("location") ==
             "/verify?next=/private/report.html");
  const std::string phone = UniquePhone("974");
  Json::Value body;
  body["phone"] = phone;
  body["otp"] = SendAndReceive(api, user, phone);
  BOOST_REQUIRE_EQUAL(api.PostJson("/api/v1/phone/verify-otp", body, user.token).status, 200);
  BOOST_TEST(client.Get("/private/report.html", auth).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
