#include "fakes/fake_webhook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>

namespace phoneverify::fakes {
namespace {

constexpr size_t kMaxRequestBytes = 1 << 20;
constexpr int kReadTimeoutMs = 5000;

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

// Readable within `timeout_ms` (false on timeout, error, or the wake pipe firing).
bool WaitReadable(int fd, int wake_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  int rc;
  do {
    rc = ::poll(fds, 2, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0 && fds[1].revents == 0 && fds[0].revents != 0;
}

void ParseHead(const std::string& head, WebhookRequest& request) {
  size_t end = head.find("\r\n");
  const std::string first = head.substr(0, end);
  const size_t sp1 = first.find(' ');
  const size_t sp2 = first.find(' ', sp1 + 1);
  if (sp1 != std::string::npos && sp2 != std::string::npos) {
    request.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
  }
  while (end != std::string::npos && end + 2 < head.size()) {
    const size_t next = head.find("\r\n", end + 2);
    const std::string line = head.substr(end + 2, next - end - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = Trim(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers[name] = Trim(line.substr(colon + 1));
    }
    end = next;
  }
}

std::optional<WebhookRequest> ReadRequest(int fd, int wake_fd) {
  std::string data;
  WebhookRequest request;
  size_t head_end = std::string::npos;
  size_t need = 0;
  char buf[8192];
  while (data.size() <= kMaxRequestBytes) {
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      ParseHead(data.substr(0, head_end), request);
      const std::string length = request.Header("content-length");
      need = head_end + 4 + (length.empty() ? 0 : std::stoul(length));
    }
    if (head_end != std::string::npos && data.size() >= need) {
      request.body = data.substr(head_end + 4, need - head_end - 4);
      return request;
    }
    if (!WaitReadable(fd, wake_fd, kReadTimeoutMs)) return std::nullopt;
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) return std::nullopt;
    data.append(buf, static_cast<size_t>(got));
  }
  return std::nullopt;
}

}  // namespace

FakeWebhookReceiver::FakeWebhookReceiver() {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return;
  wake_read_ = pipe_fds[0];
  wake_write_ = pipe_fds[1];
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 256) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeWebhookReceiver::~FakeWebhookReceiver() {
  stopping_.store(true);
  if (wake_write_ >= 0) {
    const char one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_write_, &one, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& connection : connections_) connection.join();
  for (int fd : {listen_fd_, wake_read_, wake_write_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string FakeWebhookReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeWebhookReceiver::SetStatus(const std::string& path, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path] = Script{status, 0, 0};
}

void FakeWebhookReceiver::FailNext(const std::string& path, int n, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path].next_status = status;
  scripts_[path].next_left = n;
}

std::vector<WebhookRequest> FakeWebhookReceiver::Requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WebhookRequest> found;
  for (const WebhookRequest& request : requests_) {
    if (request.path == path) found.push_back(request);
  }
  return found;
}

bool FakeWebhookReceiver::WaitForRequests(const std::string& path, size_t n,
                                          std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] {
    return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(),
                                             [&](const auto& r) { return r.path == path; })) >= n;
  });
}

void FakeWebhookReceiver::AcceptLoop() {
  while (!stopping_.load()) {
    if (!WaitReadable(listen_fd_, wake_read_, 1000)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

int FakeWebhookReceiver::StatusFor(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Script& script = scripts_[path];
  if (script.next_left > 0) {
    --script.next_left;
    return script.next_status;
  }
  return script.status;
}

void FakeWebhookReceiver::Record(WebhookRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(std::move(request));
  arrived_.notify_all();
}

// Until the client closes its end (it gave up) or the receiver stops.
void FakeWebhookReceiver::HangUntilClosed(int fd) const {
  char buf[512];
  while (WaitReadable(fd, wake_read_, 60'000)) {
    if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

void FakeWebhookReceiver::Serve(int fd) {
  std::optional<WebhookRequest> request = ReadRequest(fd, wake_read_);
  if (request) {
    request->at_ms = NowMs();
    request->status = StatusFor(request->path);
    const int status = request->status;
    Record(std::move(*request));
    if (status == 0) {
      HangUntilClosed(fd);
    } else {
      const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                                " Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      [[maybe_unused]] const ssize_t sent = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
  }
  ::close(fd);
}

}  // namespace phoneverify::fakes
