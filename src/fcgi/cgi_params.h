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

// FastCGI Authorizer role (FCGI_ROLE=AUTHORIZER), as Apache's mod_fcgid sends it for
// FcgidAccessChecker / FcgidAuthorizer: the sign-up wall under Apache (conf/apache.conf.in).
// Such a request carries the protected request's headers and URI but no body; it is
// answered as GET /auth/check.
bool IsAuthorizerRole(const ParamLookup& param);
// `request` (from RequestFromParams) turned into GET /auth/check: no query, no body.
void MakeAuthCheck(http::Request& request);
// The app's /auth/check answer in the Authorizer protocol. The web server grants access
// only on 200 and turns each "Variable-NAME: value" header of a 200 into the request
// variable NAME, so every verdict is a 200 carrying the wall's decision:
//   2xx -> Variable-PHONEVERIFY_WALL: pass (+ Variable-PHONEVERIFY_USER / _ACCOUNT)
//   401 -> Variable-PHONEVERIFY_WALL: login    (signed out: Apache sends 303 /login?next=)
//   403 -> Variable-PHONEVERIFY_WALL: verify   (unverified: 303 /verify?next=)
//   any other status -> Variable-PHONEVERIFY_WALL: error (Apache answers 503)
// No body in any case.
http::Response AuthorizerResponse(const http::Response& response);

// The path of a request target: "/a/b?x" -> "/a/b"; "http://h/a?x" -> "/a".
std::string PathOfUri(const std::string& uri);

}  // namespace phoneverify::fcgi
