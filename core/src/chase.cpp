#include "chase.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "strict_json.h"

namespace dx {

std::vector<ChaseDraft> chaseDrafts(const FreezeCase& c, const HubConfig& config) {
  std::vector<ChaseDraft> drafts;
  for (const FreezeNode& parent : c.requests) {
    if (!parent.answer) continue;
    const FreezeAnswer& a = *parent.answer;
    for (std::size_t i = 0; i < a.outflows.size(); ++i) {
      const Outflow& o = a.outflows[i];
      if (o.kind != "transfer" || o.traced <= 0 || o.accountNumber.empty()) continue;
      ChaseDraft d;
      d.id = nameUuid("dx:chase:" + a.id + ":" + std::to_string(i));
      d.caseId = c.caseId;
      d.cyberCell = parent.from;
      const ParticipantConfig* bank = config.bankForIfsc(o.ifsc);
      d.bank = bank ? bank->id : "";
      d.parentRequest = parent.id;
      d.parentResponse = a.id;
      d.outflow = static_cast<int>(i);
      d.layer = parent.layer + 1;
      d.accountNumber = o.accountNumber;
      d.ifsc = o.ifsc;
      d.hold = parent.hold;
      d.legalBasis = parent.legalBasis;
      d.officerJson = parent.officerJson;
      d.transactionRef = o.ref;
      d.transactionAt = o.at;
      d.transferred = o.amount;
      d.amount = o.traced;
      if (c.find(d.id)) {
        d.status = "sent";
      } else if (const FreezeNode* other = c.requestFor(o.accountNumber, o.ifsc, o.ref)) {
        d.status = "covered";
        d.coveredBy = other->id;
      } else if (!o.chasedBy.empty()) {
        d.status = "covered";
        d.coveredBy = o.chasedBy;
      } else {
        d.status = bank ? "pending" : "unroutable";
      }
      drafts.push_back(std::move(d));
    }
  }
  return drafts;
}

namespace {
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
void field(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value);
}
}  // namespace

std::string chaseRequestPayload(const ChaseDraft& d, const HubConfig& config, std::int64_t now) {
  rapidjson::Document officer;
  if (parseStrict(d.officerJson, officer) || !officer.IsObject()) officer.SetObject();
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  field(w, "id", d.id);
  field(w, "type", "freeze.request");
  field(w, "from", d.cyberCell);
  field(w, "to", d.bank);
  field(w, "created", formatRfc3339(now));
  field(w, "case", d.caseId);
  w.Key("body");
  w.StartObject();
  w.Key("layer");
  w.Int(d.layer);
  w.Key("account");
  w.StartObject();
  field(w, "number", d.accountNumber);
  field(w, "ifsc", d.ifsc);
  w.EndObject();
  field(w, "hold", d.hold);
  field(w, "amount", formatMoney(d.amount));
  w.Key("transactions");
  w.StartArray();
  w.StartObject();
  // A transfer's UTR is its reference; without one, the bank finds it by the sending bank's
  // reference to the response it came from.
  field(w, "ref",
        d.transactionRef.empty()
            ? "DX-" + d.parentResponse.substr(0, 8) + "-" + std::to_string(d.outflow)
            : d.transactionRef);
  field(w, "amount", formatMoney(d.transferred));
  field(w, "at", d.transactionAt);
  field(w, "channel", "OTHER");
  w.EndObject();
  w.EndArray();
  field(w, "legal_basis", d.legalBasis);
  w.Key("officer");
  officer.Accept(w);
  field(w, "respond_by", formatRfc3339(respondBy(config, d.bank, now, "")));
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string chaseDraftsJson(const std::vector<ChaseDraft>& drafts, const std::string& caseId) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  field(w, "case", caseId);
  w.Key("drafts");
  w.StartArray();
  for (const ChaseDraft& d : drafts) {
    w.StartObject();
    field(w, "id", d.id);
    field(w, "status", d.status);
    w.Key("layer");
    w.Int(d.layer);
    field(w, "bank", d.bank);
    field(w, "account", maskAccount(d.accountNumber));
    field(w, "ifsc", d.ifsc);
    field(w, "amount", formatMoney(d.amount));
    field(w, "transferred", formatMoney(d.transferred));
    field(w, "follows", d.parentResponse);
    w.Key("outflow");
    w.Int(d.outflow);
    if (!d.coveredBy.empty()) field(w, "covered_by", d.coveredBy);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace dx
