// The pure half of the FastCGI layer: CGI parameters -> http::Request, the body-reading
// rule, and the response head. No libfcgi here, so all of it is unit tested.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "http/request.h"
#include "http/response.h"

namespace phoneverify::fcgi {

// A CGI parameter by name; nullptr when the web server did not send it.
using ParamLookup = std::function<const char*(const char* name)>;
// Reads up to `len` body bytes into `buf`; returns the count, 0 at the end.
using BodyReader = std::function<int(char* buf, int len)>;

// Method, path (REQUEST_URI, else SCRIPT_NAME + PATH_INFO), query (QUERY_STRING, else
// from REQUEST_URI), the headers the app uses, REMOTE_ADDR, HTTPS. Not the body.
http::Request RequestFromParams(const ParamLookup& param);

// Reads at most max_body_bytes + 1 bytes (never more than CONTENT_LENGTH announces) and
// sets request.body and request.body_state: kBadLength (CONTENT_LENGTH not a number),
// kTooLarge (announced or read more than the limit; body left empty), kIncomplete (fewer
// bytes than announced; body left empty), else kComplete.
void ReadBody(const std::string& content_length, size_t max_body_bytes, const BodyReader& read,
              http::Request& request);

// "Status: ..." line, headers (any containing CR, LF or NUL dropped), Content-Length when
// missing (except 204/304), then the blank line.
std::string ResponseHead(const http::Response& response);

// The path of a request target: "/a/b?x" -> "/a/b"; "http://h/a?x" -> "/a".
std::string PathOfUri(const std::string& uri);

}  // namespace phoneverify::fcgi
