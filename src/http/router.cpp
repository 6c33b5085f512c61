#include "http/router.h"

#include <algorithm>

namespace phoneverify::http {
namespace {

// The next segment of `path` after its leading '/', and the rest; false when none.
bool NextSegment(std::string_view& path, std::string_view& segment) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  const size_t end = path.find('/');
  segment = path.substr(0, end);
  path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  return true;
}

}  // namespace

bool PathMatches(std::string_view pattern, std::string_view path) {
  if (pattern.find('{') == std::string_view::npos) return pattern == path;
  std::string_view want, got;
  while (NextSegment(pattern, want)) {
    if (!NextSegment(path, got)) return false;
    const bool variable = want.size() > 2 && want.front() == '{' && want.back() == '}';
    if (variable ? got.empty() : want != got) return false;
  }
  return path.empty();
}

std::string_view PathSegment(std::string_view path, size_t index) {
  std::string_view segment;
  for (size_t i = 0; NextSegment(path, segment); ++i) {
    if (i == index) return segment;
  }
  return {};
}

util::Result<const Route*> Router::Find(std::string_view method, std::string_view path) const {
  std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  bool path_known = false;
  for (const Route& route : routes_) {
    if (!PathMatches(route.path, path)) continue;
    path_known = true;
    if (route.method == wanted) return &route;
  }
  if (!path_known) {
    return util::Error::Make(util::ErrorKind::kNotFound, "not_found", "No such resource.");
  }
  return util::Error::Make(util::ErrorKind::kMethodNotAllowed, "method_not_allowed",
                           "Method not allowed for this resource.");
}

std::string Router::AllowHeader(std::string_view path) const {
  std::vector<std::string> methods;
  auto add = [&](const std::string& m) {
    if (std::find(methods.begin(), methods.end(), m) == methods.end()) methods.push_back(m);
  };
  for (const Route& route : routes_) {
    if (!PathMatches(route.path, path)) continue;
    add(route.method);
    if (route.method == "GET") add("HEAD");
  }
  std::string allow;
  for (const auto& m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

}  // namespace phoneverify::http
