#include "fault_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "stack.h"

namespace phoneverify::itest {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Field 4 (ppid) and field 3 (state) of /proc/<pid>/stat; the name may hold spaces.
bool ReadStat(pid_t pid, char* state, pid_t* ppid) {
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(stat.substr(close + 1));
  return static_cast<bool>(rest >> *state >> *ppid);
}

}  // namespace

pid_t StackPid(const std::string& name) {
  const std::string text = ReadText(Stack::Get().var_dir() + "/run/" + name + ".pid");
  try {
    return static_cast<pid_t>(std::stol(text));
  } catch (...) {
    return 0;
  }
}

bool ProcessAlive(pid_t pid) {
  char state = 0;
  pid_t ppid = 0;
  return pid > 0 && ReadStat(pid, &state, &ppid) && state != 'Z' && state != 'X';
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    char state = 0;
    pid_t ppid = 0;
    if (ReadStat(pid, &state, &ppid) && ppid == parent && state != 'Z') children.push_back(pid);
  }
  return children;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

ContinueOnExit::~ContinueOnExit() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::unique_ptr<storage::Connection> AdminConnection() {
  storage::ConnectionOptions options;
  options.socket = Stack::Get().var_dir() + "/run/mysqld.sock";
  const passwd* user = ::getpwuid(::getuid());
  if (user == nullptr) throw std::runtime_error("no user name for the database administrator");
  options.user = user->pw_name;
  options.database = "phoneverify";
  options.timeout_seconds = 10;
  return std::make_unique<storage::Connection>(options);
}

int64_t QueryInt(storage::Connection& conn, const char* sql,
                 const std::vector<storage::Param>& params) {
  auto rows = conn.Query(sql, params);
  if (!rows.ok() || rows.value().empty()) return -1;
  return rows.value()[0].Int(0);
}

std::string ReadAppLog() { return ReadText(Stack::Get().var_dir() + "/log/phoneverify.log"); }

size_t CountLogLines(const std::vector<std::string>& needles) {
  std::istringstream log(ReadAppLog());
  size_t count = 0;
  for (std::string line; std::getline(log, line);) {
    bool all = true;
    for (const auto& needle : needles) all = all && line.find(needle) != std::string::npos;
    count += all ? 1 : 0;
  }
  return count;
}

long WaitForHealth(long status, std::chrono::milliseconds timeout) {
  long last = 0;
  WaitUntil(
      [&] {
        last = Stack::Get().Client().Get("/healthz").status;
        return last == status;
      },
      timeout);
  return last;
}

int ClosedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);  // bound, never listened: connections are refused
  return ntohs(addr.sin_port);
}

int64_t TimeMillis(const std::function<void()>& call) {
  const auto start = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace phoneverify::itest
