#include "handlers/health_handler.h"

#include <json/value.h>

namespace phoneverify::handlers {

util::Result<http::Response> Health(domain::HealthCheck& health, const http::Request&) {
  util::Result<std::string> node = health.AnsweringNode();
  if (!node.ok()) return util::Error::Unavailable();
  Json::Value body(Json::objectValue);
  body["status"] = "ok";
  body["db_node"] = node.value();
  return http::JsonResponse(200, body);
}

}  // namespace phoneverify::handlers
