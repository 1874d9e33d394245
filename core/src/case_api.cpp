#include "case_api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace dx {

namespace {

constexpr const char* kJsonType = "application/json";
constexpr const char* kProblemType = "application/problem+json";

ApiAnswer problem(const Problem& p) {
  return {problemStatus(p.code), kProblemType, problemJson(p), p.code};
}

ApiAnswer outcome(const Outcome& o) {
  return {o.status, o.isProblem() ? kProblemType : "application/jose+json", o.body, o.code};
}

bool hasRole(const Registry& registry, const std::string& client,
             std::initializer_list<const char*> roles) {
  const Participant* p = registry.find(client);
  if (!p) return false;
  for (const char* role : roles)
    if (p->role == role) return true;
  return false;
}

std::string bankReportJson(const std::vector<BankFigures>& banks) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("banks");
  w.StartArray();
  for (const BankFigures& b : banks) {
    w.StartObject();
    w.Key("bank");
    w.String(b.bank);
    w.Key("requests");
    w.Int(b.requests);
    w.Key("answered");
    w.Int(b.answered);
    w.Key("answered_in_time");
    w.Int(b.inTime);
    w.Key("overdue");
    w.Int(b.overdue);
    // Of the requests that are due (answered, or past their respond-by), the share answered in
    // time; null while none is due.
    w.Key("share_in_time");
    if (int due = b.answered + b.overdue)
      w.Double(static_cast<double>(b.inTime) / due);
    else
      w.Null();
    w.Key("median_seconds");
    b.medianSeconds < 0 ? w.Null() : w.Int64(b.medianSeconds);
    w.Key("p90_seconds");
    b.p90Seconds < 0 ? w.Null() : w.Int64(b.p90Seconds);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

std::optional<ApiAnswer> caseRoute(const std::string& method, const std::vector<std::string>& parts,
                                   const std::string& client, const Registry& registry,
                                   CaseTracker& cases, const HubConfig& config,
                                   std::string& route) {
  auto only = [&](const char* want) -> std::optional<ApiAnswer> {
    if (method == want) return std::nullopt;
    return problem({"method_not_allowed", std::string("use ") + want});
  };
  if (parts.size() == 3 && parts[1] == "reports" && parts[2] == "banks") {
    route = "/v1/reports/banks";
    if (auto wrong = only("GET")) return wrong;
    if (!hasRole(registry, client, {"cyber_cell", "sp_office", "hub"}))
      return problem({"forbidden", "the bank report is for the cyber cell and the SP office"});
    return ApiAnswer{200, kJsonType, bankReportJson(cases.bankReport()), "ok"};
  }
  if (parts.size() < 3 || parts[1] != "cases") return std::nullopt;
  const std::string& caseId = parts[2];
  if (parts.size() == 3) {
    route = "/v1/cases/{case}";
    if (auto wrong = only("GET")) return wrong;
    if (!hasRole(registry, client, {"cyber_cell", "sp_office", "hub"}))
      return problem({"forbidden", "cases are for the cyber cell and the SP office"});
    FreezeCase c = cases.freezeCase(caseId);
    if (c.requests.empty()) return problem({"not_found", "no freeze case " + caseId});
    return ApiAnswer{200, kJsonType, freezeCaseJson(c, config),
                     std::to_string(c.requests.size()) + " requests"};
  }
  if (parts.size() == 4 && parts[3] == "drafts") {
    route = "/v1/cases/{case}/drafts";
    if (auto wrong = only("GET")) return wrong;
    if (!hasRole(registry, client, {"cyber_cell"}))
      return problem({"forbidden", "chase drafts are for the cyber cell"});
    std::vector<ChaseDraft> drafts = cases.drafts(caseId);
    std::erase_if(drafts, [&](const ChaseDraft& d) { return d.cyberCell != client; });
    return ApiAnswer{200, kJsonType, chaseDraftsJson(drafts, caseId),
                     std::to_string(drafts.size()) + " drafts"};
  }
  if (parts.size() == 6 && parts[3] == "drafts" && parts[5] == "approve") {
    route = "/v1/cases/{case}/drafts/{id}/approve";
    if (auto wrong = only("POST")) return wrong;
    if (!hasRole(registry, client, {"cyber_cell"}))
      return problem({"forbidden", "only a cyber cell approves its chase drafts"});
    return outcome(cases.approve(caseId, parts[4], client));
  }
  route = "unknown";
  return problem({"not_found", "no such resource"});
}

}  // namespace dx
