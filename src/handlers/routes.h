// Every route of the service in one table (contract sections 4 and 5).
#pragma once

#include <vector>

#include "domain/account_service.h"
#include "domain/ports.h"
#include "domain/verification_service.h"
#include "handlers/page_handlers.h"
#include "handlers/verification_handlers.h"
#include "http/router.h"
#include "util/counters.h"

namespace phoneverify::handlers {

// What the handlers call; all references must outlive the routes.
struct Services {
  domain::AccountService& accounts;
  domain::VerificationService& verification;
  domain::HealthCheck& health;
  PageHandlers* pages = nullptr;
  // The verification API for backends (section 7); its routes are left out when null.
  VerificationApi* verification_api = nullptr;  // the HTML pages; their routes are left out when null
  // GET /metrics (optional: their figures are left out when null).
  const util::Counters* counters = nullptr;
  domain::MetricsStore* metrics = nullptr;
};

std::vector<http::Route> BuildRoutes(const Services& services);

}  // namespace phoneverify::handlers
