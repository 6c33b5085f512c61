// The one place the integration clients drive a curl easy handle: sets the URL, headers
// and body, collects the reply (status, lower-cased headers, body) and parses JSON bodies.
// HttpClient uses a fresh handle per request; FormClient keeps one (for its cookie jar).
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

#include "http_client.h"

namespace phoneverify::itest {

// Performs one request on `curl`: a POST with `body` when it is not null, else whatever
// method the caller set (GET by default). Repeated response headers (Set-Cookie) are kept
// together, one per line. Throws std::runtime_error when curl fails.
HttpResponse PerformExchange(CURL* curl, const std::string& url,
                             const std::vector<std::string>& headers, const std::string* body);

}  // namespace phoneverify::itest
