#pragma once
// The district's API over the case tracker (DESIGN §6):
//   GET  /v1/cases/{case}                         the case tree (cyber cell, SP office, hub)
//   GET  /v1/cases/{case}/drafts                  chase drafts (cyber cell)
//   POST /v1/cases/{case}/drafts/{id}/approve     sign and send one (its cyber cell)
//   GET  /v1/reports/banks                        per bank: requests, time to respond, in time
#include <optional>
#include <string>
#include <vector>

#include "case_tracker.h"
#include "registry.h"

namespace dx {

struct ApiAnswer {
  int status = 200;
  std::string contentType, body;
  std::string outcome;  // for the request's log line
};

// The answer for `parts` (the path's segments, starting "v1"), or nullopt when the path is not
// one of these routes. `route` is set to the route's pattern for logs and metrics.
std::optional<ApiAnswer> caseRoute(const std::string& method, const std::vector<std::string>& parts,
                                   const std::string& client, const Registry& registry,
                                   CaseTracker& cases, const HubConfig& config, std::string& route);

}  // namespace dx
