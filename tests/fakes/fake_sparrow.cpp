#include "fakes/fake_sparrow.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>

namespace phoneverify::fakes {

struct FakeHttpRequest {
  std::string method;
  std::string path;   // without the query, as received
  std::string route;  // path without a trailing '/' ("/v2/sms"): what routes match
  std::string query;  // after '?', "" when none
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

namespace {

using HttpRequest = FakeHttpRequest;

constexpr size_t kMaxRequestBytes = 1 << 20;
constexpr int kReadTimeoutMs = 5000;
// Room for a few hundred clients connecting at once (the kernel caps it at somaxconn).
constexpr int kListenBacklog = 1024;
constexpr const char* kSmsPath = "/v2/sms/";
constexpr const char* kCreditPath = "/v2/credit/";
constexpr const char* kHttpSmsPath = "/http-sms/";
constexpr const char* kStatsPath = "/stats";

const char* ReplyName(FakeSparrow::Mode mode) {
  switch (mode) {
    case FakeSparrow::Mode::kOk:
      return "ok";
    case FakeSparrow::Mode::kError403:
      return "error403";
    case FakeSparrow::Mode::kHttp500:
      return "http500";
    case FakeSparrow::Mode::kDelay:
      return "delay";
    case FakeSparrow::Mode::kDropConnection:
      return "drop";
  }
  return "?";
}

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (!pair.empty()) {
      fields[UrlDecode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return fields;
}

// Waits until `fd` is readable; false on timeout or when the wake pipe fires.
bool WaitReadable(int fd, int wake_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  int rc;
  do {
    rc = ::poll(fds, 2, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0 && fds[1].revents == 0 && fds[0].revents != 0;
}

bool ParseHead(const std::string& head, HttpRequest& request) {
  size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const size_t sp1 = first.find(' ');
  const size_t sp2 = first.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  request.method = first.substr(0, sp1);
  request.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t question = request.path.find('?');
  if (question != std::string::npos) request.query = request.path.substr(question + 1);
  request.path = request.path.substr(0, question);
  request.route = request.path;
  if (request.route.size() > 1 && request.route.back() == '/') request.route.pop_back();
  while (line_end != std::string::npos && line_end + 2 < head.size()) {
    const size_t next = head.find("\r\n", line_end + 2);
    const std::string line = head.substr(line_end + 2, next - line_end - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      request.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    line_end = next;
  }
  return true;
}

std::optional<size_t> ContentLength(const HttpRequest& request) {
  const auto it = request.headers.find("content-length");
  if (it == request.headers.end()) return 0;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(text);
}

std::optional<HttpRequest> ReadRequest(int fd, int wake_fd) {
  std::string data;
  size_t head_end = std::string::npos;
  size_t need = 0;
  HttpRequest request;
  char buf[8192];
  while (true) {
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      if (!ParseHead(data.substr(0, head_end), request)) return std::nullopt;
      const auto length = ContentLength(request);
      if (!length || *length > kMaxRequestBytes) return std::nullopt;
      need = head_end + 4 + *length;
    }
    if (head_end != std::string::npos && data.size() >= need) {
      request.body = data.substr(head_end + 4, need - head_end - 4);
      return request;
    }
    if (data.size() > kMaxRequestBytes) return std::nullopt;
    if (!WaitReadable(fd, wake_fd, kReadTimeoutMs)) return std::nullopt;
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) return std::nullopt;
    data.append(buf, static_cast<size_t>(got));
  }
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

// `extra_headers`: more header lines, each ending in CRLF.
void Respond(int fd, int status, const char* reason, const std::string& body,
             const char* type = "application/json", const std::string& extra_headers = "") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += std::string("Content-Type: ") + type + "\r\n" + extra_headers;
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n" + body;  // HTTP/1.1: the connection stays open for the next request
  SendAll(fd, out);
}

std::string JsonText(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

// Sparrow's documented error texts.
std::string SparrowErrorText(int code) {
  static const std::map<int, const char*> kTexts = {{1000, "A required field is missing"},
                                                    {1001, "Invalid IP Address"},
                                                    {1002, "Invalid Token"},
                                                    {1003, "Account Inactive"},
                                                    {1004, "Account Inactive"},
                                                    {1005, "Account has been expired"},
                                                    {1006, "Account has been expired"},
                                                    {1007, "Invalid Receiver"},
                                                    {1008, "Invalid Sender"},
                                                    {1010, "Text cannot be empty"},
                                                    {1011, "No valid receiver"},
                                                    {1012, "No Credits Available"},
                                                    {1013, "Insufficient Credits"}};
  const auto it = kTexts.find(code);
  return it == kTexts.end() ? "Error" : it->second;
}

void RespondOk(int fd) {
  Json::Value body(Json::objectValue);
  body["count"] = 1;
  body["response_code"] = 200;
  body["response"] = "1 mesages has been queued for delivery";
  Respond(fd, 200, "OK", JsonText(body));
}

void RespondSparrowError(int fd, int code) {
  Json::Value body(Json::objectValue);
  body["response_code"] = code;
  body["response"] = SparrowErrorText(code);
  Respond(fd, 403, "Forbidden", JsonText(body));
}

void RespondCredit(int fd) {
  Json::Value body(Json::objectValue);
  body["credits_available"] = 1000;
  body["last_balance_added"] = 1000;
  body["last_balance_added_on"] = "2024-01-01 00:00:00";
  body["response_code"] = 200;
  Respond(fd, 200, "OK", JsonText(body));
}

void RespondHttpSms(int fd, int status, const char* reason, const std::string& error) {
  Json::Value body(Json::objectValue);
  body["ok"] = error.empty();
  if (!error.empty()) body["error"] = error;
  Respond(fd, status, reason, JsonText(body));
}

// The JSON object of an http-backend request, or null when the body is not one.
Json::Value ParseJsonObject(const std::string& text) {
  Json::CharReaderBuilder builder;
  builder["stackLimit"] = 20;
  Json::Value value;
  std::string errors;
  std::istringstream in(text);
  if (!Json::parseFromStream(builder, in, &value, &errors) || !value.isObject()) {
    return Json::Value();
  }
  return value;
}

std::string StringField(const Json::Value& object, const char* name) {
  if (!object.isObject()) return "";
  const Json::Value& field = object[name];
  return field.isString() ? field.asString() : "";
}

}  // namespace

// The route table: a path with another method is 405, an unknown path 404.
struct FakeSparrow::Route {
  const char* method;
  const char* route;  // FakeHttpRequest::route (no trailing '/')
  bool (FakeSparrow::*serve)(int fd, const FakeHttpRequest& request);
};

const FakeSparrow::Route FakeSparrow::kRoutes[] = {
    {"POST", "/v2/sms", &FakeSparrow::ServeSparrow},
    {"POST", "/http-sms", &FakeSparrow::ServeHttpSms},
    {"GET", "/v2/credit", &FakeSparrow::ServeCredit},
    {"GET", kStatsPath, &FakeSparrow::ServeStats},
    {nullptr, nullptr, nullptr},
};

FakeSparrow::FakeSparrow() : FakeSparrow(Options{}) {}

FakeSparrow::FakeSparrow(Options options) : options_(std::move(options)) {
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    error_ = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  wake_read_ = wake[0];
  wake_write_ = wake[1];
  if (!Listen(options_.port)) return;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeSparrow::~FakeSparrow() {
  stopping_ = true;
  if (wake_write_ >= 0) {
    const char byte = 1;
    ssize_t ignored = ::write(wake_write_, &byte, 1);  // never drained: wakes every poll
    (void)ignored;
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& connection : connections_) connection.thread.join();
  for (int fd : {listen_fd_, wake_read_, wake_write_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool FakeSparrow::Listen(int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    error_ = "not a numeric IPv4 address: " + options_.host;
    return false;
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, kListenBacklog) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    error_ = "listen on " + options_.host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  return true;
}

void FakeSparrow::AcceptLoop() {
  while (!stopping_) {
    if (!WaitReadable(listen_fd_, wake_read_, 1000)) {
      ReapFinished();
      continue;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ReapFinished();
    auto done = std::make_shared<std::atomic<bool>>(false);
    ConnectionOpened(1);
    connections_.push_back({std::thread([this, fd, done] {
                              Serve(fd);
                              ::close(fd);
                              ConnectionOpened(-1);
                              *done = true;
                            }),
                            done});
  }
}

void FakeSparrow::ReapFinished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!*it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = connections_.erase(it);
  }
}

// Requests one after another on the connection (keep-alive, as libcurl reuses it) until
// the client closes it, asks to, sends something unreadable, stays idle kReadTimeoutMs,
// or a reply mode drops it.
void FakeSparrow::Serve(int fd) {
  while (!stopping_ && ServeOne(fd)) {
  }
}

// One request; false when the connection is to be closed.
bool FakeSparrow::ServeOne(int fd) {
  const auto request = ReadRequest(fd, wake_read_);
  if (!request) return false;
  const bool keep = Lower(request->Header("connection")) != "close";
  std::string allow;
  for (const Route* route = kRoutes; route->method != nullptr; ++route) {
    if (request->route != route->route) continue;
    if (request->method == route->method) return (this->*route->serve)(fd, *request) && keep;
    allow += (allow.empty() ? "" : ", ") + std::string(route->method);
  }
  if (allow.empty()) {
    Respond(fd, 404, "Not Found", "{\"response_code\":404}");
  } else {
    Respond(fd, 405, "Method Not Allowed", "{\"response_code\":405}", "application/json",
            "Allow: " + allow + "\r\n");
  }
  return keep;
}

bool FakeSparrow::ServeSparrow(int fd, const FakeHttpRequest& http) {
  auto fields = ParseForm(http.body);
  SparrowRequest request;
  request.kind = "sparrow";
  request.method = http.method;
  request.path = http.path;
  request.body = http.body;
  request.token = fields["token"];
  request.from = fields["from"];
  request.to = fields["to"];
  request.text = fields["text"];
  return ServeSms(fd, std::move(request));
}

bool FakeSparrow::ServeHttpSms(int fd, const FakeHttpRequest& http) {
  const Json::Value json = ParseJsonObject(http.body);
  SparrowRequest request;
  request.kind = "http";
  request.method = http.method;
  request.path = http.path;
  request.body = http.body;
  request.id = StringField(json, "id");
  request.to = StringField(json, "to");
  request.text = StringField(json, "text");
  request.webhook_id = http.Header("webhook-id");
  request.webhook_timestamp = http.Header("webhook-timestamp");
  request.webhook_signature = http.Header("webhook-signature");
  return ServeSms(fd, std::move(request));
}

bool FakeSparrow::ServeCredit(int fd, const FakeHttpRequest& http) {
  const std::string token = ParseForm(http.query)["token"];
  if (token.empty()) {
    RespondSparrowError(fd, 1000);
  } else if (!options_.expected_token.empty() && token != options_.expected_token) {
    RespondSparrowError(fd, 1002);
  } else {
    RespondCredit(fd);
  }
  return true;
}

bool FakeSparrow::ServeStats(int fd, const FakeHttpRequest&) {
  const Stats stats = GetStats();
  Json::Value body(Json::objectValue);
  body["requests"] = static_cast<Json::UInt64>(stats.requests);
  body["in_flight"] = stats.in_flight;
  body["in_flight_max"] = stats.in_flight_max;
  body["in_flight_us"] = static_cast<Json::UInt64>(stats.in_flight_us);
  body["connections"] = stats.connections;
  Respond(fd, 200, "OK", JsonText(body));
  return true;
}

// Records an SMS request and answers it per the reply mode; false when the connection is
// to be closed (a dropped reply, or a stop during a delay).
bool FakeSparrow::ServeSms(int fd, SparrowRequest request) {
  const auto began = std::chrono::steady_clock::now();
  SmsBegan();
  request.at_ms = NowMs();
  const Reply reply = NextReply();
  request.reply = ReplyName(reply.mode);
  Record(request);
  const bool answered = Answer(fd, request, reply);
  SmsEnded(began, answered);
  return answered;
}

// False when nothing was answered (a dropped reply, or a stop during a delay).
bool FakeSparrow::Answer(int fd, const SparrowRequest& request, Reply reply) const {
  const bool http = request.kind == "http";
  switch (reply.mode) {
    case Mode::kDropConnection:
      return false;
    case Mode::kHttp500:
      Respond(fd, 500, "Internal Server Error", "Internal Server Error", "text/plain");
      return true;
    case Mode::kError403:
      if (http) {
        RespondHttpSms(fd, 400, "Bad Request", "rejected (" + std::to_string(reply.code) + ")");
      } else {
        RespondSparrowError(fd, reply.code);
      }
      return true;
    case Mode::kDelay:
      if (!SleepMs(reply.delay_ms)) return false;
      break;
    case Mode::kOk:
      break;
  }
  if (http) {
    const bool complete = !request.id.empty() && !request.to.empty() && !request.text.empty();
    if (complete) {
      RespondHttpSms(fd, 200, "OK", "");
    } else {
      RespondHttpSms(fd, 400, "Bad Request", "id, to and text are required");
    }
  } else if (request.token.empty() || request.to.empty() || request.text.empty()) {
    RespondSparrowError(fd, 1000);
  } else if (!options_.expected_token.empty() && request.token != options_.expected_token) {
    RespondSparrowError(fd, 1002);
  } else {
    RespondOk(fd);
  }
  return true;
}

FakeSparrow::Reply FakeSparrow::NextReply() {
  std::lock_guard<std::mutex> lock(mu_);
  if (scripted_left_ > 0) {
    --scripted_left_;
    return scripted_;
  }
  return mode_;
}

void FakeSparrow::Record(const SparrowRequest& request) {
  if (options_.on_request) options_.on_request(request);
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.keep_requests) requests_.push_back(request);
  ++request_count_;
  arrived_.notify_all();
}

void FakeSparrow::ConnectionOpened(int delta) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.connections += delta;
}

void FakeSparrow::SmsBegan() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.in_flight_max = std::max(stats_.in_flight_max, ++stats_.in_flight);
}

void FakeSparrow::SmsEnded(std::chrono::steady_clock::time_point began, bool answered) {
  const auto spent = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - began);
  std::lock_guard<std::mutex> lock(mu_);
  --stats_.in_flight;
  stats_.in_flight_us += static_cast<uint64_t>(spent.count());
  if (answered) ++stats_.requests;
}

FakeSparrow::Stats FakeSparrow::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool FakeSparrow::SleepMs(int ms) const {
  pollfd fd = {wake_read_, POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    // Rounded up: a delay is never cut short (stats count the time in flight).
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    const int rc = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (rc > 0) return false;
  }
}

std::string FakeSparrow::Url() const {
  return "http://" + options_.host + ":" + std::to_string(port_) + kSmsPath;
}

std::string FakeSparrow::CreditUrl() const {
  return "http://" + options_.host + ":" + std::to_string(port_) + kCreditPath;
}

std::string FakeSparrow::HttpUrl() const {
  return "http://" + options_.host + ":" + std::to_string(port_) + kHttpSmsPath;
}

std::string FakeSparrow::StatsUrl() const {
  return "http://" + options_.host + ":" + std::to_string(port_) + kStatsPath;
}

std::vector<SparrowRequest> FakeSparrow::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeSparrow::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_count_;
}

bool FakeSparrow::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return request_count_ >= n; });
}

void FakeSparrow::SetMode(Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_ = reply;
  scripted_left_ = 0;
}

void FakeSparrow::FailNext(int n, Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  scripted_ = reply;
  scripted_left_ = n;
}

void FakeSparrow::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  request_count_ = 0;
}

}  // namespace phoneverify::fakes
