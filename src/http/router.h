// The route table: method + path pattern -> handler, as data. A pattern is an exact path
// whose segments may be variables: "/api/v1/verifications/{id}/check" matches any
// non-empty segment in place of {id} (the handler reads it with PathSegment). 404 and 405 (with the Allow
// list) are derived from the table, never from if-chains.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/response.h"
#include "util/status.h"

namespace phoneverify::http {

// A handler turns a request into a response or an Error (mapped by error_mapping.h).
// It may throw; App catches everything and answers 500 internal_error.
using Handler = std::function<util::Result<Response>(const Request&)>;

struct Route {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string path;    // pattern, e.g. "/api/v1/me" or "/a/{id}"; also what is logged
  Handler handler;
};

// True when `path` has the pattern's segments, any non-empty one in place of a "{name}".
bool PathMatches(std::string_view pattern, std::string_view path);
// Segment `index` of `path` ("/a/b/c": 0 is "a"); "" when there is none.
std::string_view PathSegment(std::string_view path, size_t index);

class Router {
 public:
  explicit Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

  // The route for (method, path). HEAD is served by the GET route.
  // Errors: 404 not_found when no route has the path; 405 method_not_allowed when
  // some do but not with this method (AllowHeader(path) lists the methods).
  util::Result<const Route*> Find(std::string_view method, std::string_view path) const;

  // "GET, HEAD, POST" style list of methods the table has for `path` ("" when none).
  std::string AllowHeader(std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace phoneverify::http
