#include "handlers/health_handler.h"

#include <json/value.h>

namespace phoneverify::handlers {

util::Result<http::Response> Health(domain::HealthCheck& health, const http::Request&) {
  if (!health.DatabaseAnswers()) return util::Error::Unavailable();
  Json::Value body(Json::objectValue);
  body["status"] = "ok";
  return http::JsonResponse(200, body);
}

}  // namespace phoneverify::handlers
