// GET /healthz: 200 {"status":"ok","db_node":"<host:port or local>"} when the database
// answers (db_node: the node that did, contract section 8), else 503 unavailable.
#pragma once

#include "domain/ports.h"
#include "http/request.h"
#include "http/response.h"
#include "util/status.h"

namespace phoneverify::handlers {

util::Result<http::Response> Health(domain::HealthCheck& health, const http::Request& request);

}  // namespace phoneverify::handlers
