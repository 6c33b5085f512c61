#include "http/router.h"

#include <algorithm>

namespace phoneverify::http {

util::Result<const Route*> Router::Find(std::string_view method, std::string_view path) const {
  std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  bool path_known = false;
  for (const Route& route : routes_) {
    if (route.path != path) continue;
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
    if (route.path != path) continue;
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
