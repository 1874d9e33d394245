#include "freeze_case.h"

#include <algorithm>
#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "stored_message.h"

namespace dx {

namespace {

Paise money(const rapidjson::Value& object, const char* key) {
  return parseMoney(jsonString(object, key)).value_or(0);
}

const rapidjson::Value& member(const rapidjson::Value& object, const char* key) {
  static const rapidjson::Value kNull;
  if (!object.IsObject()) return kNull;
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? kNull : it->value;
}

std::string compactJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::int64_t unixOf(const std::string& rfc3339) {
  return parseRfc3339(rfc3339).value_or(0);
}

FreezeNode requestNode(const MessageRecord& m, const rapidjson::Value& body,
                       const HubConfig& config) {
  FreezeNode n;
  n.id = m.id;
  n.from = m.from;
  n.bank = m.to;
  n.state = m.state;
  const rapidjson::Value& account = member(body, "account");
  n.accountNumber = jsonString(account, "number");
  n.ifsc = jsonString(account, "ifsc");
  n.hold = jsonString(body, "hold");
  n.legalBasis = jsonString(body, "legal_basis");
  n.officerJson = compactJson(member(body, "officer"));
  const rapidjson::Value& layer = member(body, "layer");
  n.layer = layer.IsInt() ? layer.GetInt() : 1;
  n.amount = money(body, "amount");
  const rapidjson::Value& transactions = member(body, "transactions");
  if (transactions.IsArray())
    for (const rapidjson::Value& t : transactions.GetArray())
      n.transactionRefs.push_back(jsonString(t, "ref"));
  n.sentAt = m.acceptedAt;
  n.sentUnix = unixOf(m.acceptedAt);
  n.respondByUnix = respondBy(config, m.to, n.sentUnix, jsonString(body, "respond_by"));
  return n;
}

FreezeAnswer answerOf(const MessageRecord& m, const rapidjson::Value& body) {
  FreezeAnswer a;
  a.id = m.id;
  a.status = jsonString(body, "status");
  a.bankRef = jsonString(body, "bank_ref");
  a.remarks = jsonString(body, "remarks");
  a.acceptedAt = m.acceptedAt;
  a.held = money(body, "held_amount");
  const rapidjson::Value& outflows = member(body, "outflows");
  if (outflows.IsArray())
    for (const rapidjson::Value& o : outflows.GetArray()) {
      Outflow f;
      f.kind = jsonString(o, "kind");
      f.amount = money(o, "amount");
      f.at = jsonString(o, "at");
      f.ref = jsonString(o, "ref");
      f.accountNumber = jsonString(member(o, "account"), "number");
      f.ifsc = jsonString(member(o, "account"), "ifsc");
      f.atmId = jsonString(o, "atm_id");
      f.place = jsonString(o, "place");
      a.outflows.push_back(std::move(f));
    }
  return a;
}

// Of what `node` asked to hold, what was not held is traced to its outflows in time order.
void trace(FreezeNode& node) {
  FreezeAnswer& a = *node.answer;
  std::vector<Outflow*> byTime;
  for (Outflow& o : a.outflows) byTime.push_back(&o);
  std::stable_sort(byTime.begin(), byTime.end(), [](const Outflow* x, const Outflow* y) {
    return unixOf(x->at) < unixOf(y->at);
  });
  Paise remaining = std::max<Paise>(0, node.amount - a.held);
  for (Outflow* o : byTime) {
    o->traced = std::min(o->amount, remaining);
    remaining -= o->traced;
  }
}

bool sameAccount(const FreezeNode& n, const Outflow& o) {
  return n.accountNumber == o.accountNumber && n.ifsc == o.ifsc;
}

// The outflow a next-layer request follows: one to its account at the layer above, the one
// carrying one of its transactions if any does.
void linkToParent(FreezeCase& c, FreezeNode& child) {
  if (child.layer <= 1) return;
  Outflow* best = nullptr;
  FreezeNode* bestParent = nullptr;
  int bestIndex = -1;
  for (FreezeNode& p : c.requests) {
    if (p.layer != child.layer - 1 || !p.answer) continue;
    for (std::size_t i = 0; i < p.answer->outflows.size(); ++i) {
      Outflow& o = p.answer->outflows[i];
      if (o.kind != "transfer" || !o.chasedBy.empty() || !sameAccount(child, o)) continue;
      bool carries = std::find(child.transactionRefs.begin(), child.transactionRefs.end(), o.ref) !=
                     child.transactionRefs.end();
      if (!best || carries) {
        best = &o;
        bestParent = &p;
        bestIndex = static_cast<int>(i);
      }
      if (carries) break;
    }
  }
  if (!best) return;
  best->chasedBy = child.id;
  child.parent = bestParent->id;
  child.parentOutflow = bestIndex;
}

}  // namespace

std::string FreezeNode::statusText() const {
  if (answer) return answer->status;
  return overdue ? "overdue" : "awaiting";
}

const FreezeNode* FreezeCase::find(const std::string& id) const {
  for (const FreezeNode& n : requests)
    if (n.id == id) return &n;
  return nullptr;
}

const FreezeNode* FreezeCase::requestFor(const std::string& accountNumber, const std::string& ifsc,
                                         const std::string& ref) const {
  for (const FreezeNode& n : requests) {
    if (n.accountNumber != accountNumber || n.ifsc != ifsc) continue;
    if (ref.empty() || std::find(n.transactionRefs.begin(), n.transactionRefs.end(), ref) !=
                           n.transactionRefs.end())
      return &n;
  }
  return nullptr;
}

std::int64_t respondBy(const HubConfig& config, const std::string& bank, std::int64_t sentUnix,
                       const std::string& ownRespondBy) {
  if (std::optional<std::int64_t> own = parseRfc3339(ownRespondBy)) return *own;
  const ParticipantConfig* p = config.findParticipant(bank);
  return sentUnix + (p ? p->respondWithinS : 3600);
}

FreezeCase buildFreezeCase(const std::string& caseId, const std::vector<MessageRecord>& messages,
                           const HubConfig& config, std::int64_t now) {
  FreezeCase c;
  c.caseId = caseId;
  std::vector<const MessageRecord*> ordered;
  for (const MessageRecord& m : messages) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const MessageRecord* a, const MessageRecord* b) { return a->seq < b->seq; });

  std::map<std::string, std::size_t> index;  // request id → position
  for (const MessageRecord* m : ordered)
    if (m->type == "freeze.request") {
      rapidjson::Document e = storedEnvelope(*m);
      index[m->id] = c.requests.size();
      c.requests.push_back(requestNode(*m, member(e, "body"), config));
    }
  for (const MessageRecord* m : ordered) {
    auto it = index.find(m->ref);
    if (it == index.end()) continue;
    FreezeNode& n = c.requests[it->second];
    rapidjson::Document e = storedEnvelope(*m);
    if (m->type == "freeze.response") {
      if (n.responses++ == 0) n.responseSeconds = unixOf(m->acceptedAt) - n.sentUnix;
      n.answer = answerOf(*m, member(e, "body"));
    } else if (m->type == "freeze.release") {
      n.released += money(member(e, "body"), "amount");
      ++c.releases;
    }
  }

  for (FreezeNode& n : c.requests)
    if (n.answer) trace(n);
  // Parents before children: by layer, then acceptance.
  std::vector<FreezeNode*> byLayer;
  for (FreezeNode& n : c.requests) byLayer.push_back(&n);
  std::stable_sort(byLayer.begin(), byLayer.end(),
                   [](const FreezeNode* a, const FreezeNode* b) { return a->layer < b->layer; });
  for (FreezeNode* n : byLayer) linkToParent(c, *n);

  CaseTotals& t = c.totals;
  for (FreezeNode& n : c.requests) {
    if (n.layer == 1) t.disputed += n.amount;
    t.released += n.released;
    if (!n.answer) {
      n.overdue = now > n.respondByUnix;
      (n.overdue ? t.unanswered : t.awaiting) += n.amount;
      continue;
    }
    t.held += n.answer->held;
    for (const Outflow& o : n.answer->outflows) {
      if (o.kind == "atm") t.atm += o.traced;
      if (o.kind == "aeps") t.aeps += o.traced;
      if (o.kind == "merchant") t.merchant += o.traced;
      if (o.kind == "other") t.other += o.traced;
    }
  }
  return c;
}

std::string maskAccount(const std::string& number) {
  if (number.size() <= 4) return number;
  return std::string(number.size() - 4, 'X') + number.substr(number.size() - 4);
}

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void field(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value);
}

void moneyField(JsonWriter& w, const char* key, Paise value) {
  field(w, key, formatMoney(value));
}

void writeNode(JsonWriter& w, const FreezeCase& c, const FreezeNode& n, const HubConfig& config) {
  w.StartObject();
  field(w, "request", n.id);
  w.Key("layer");
  w.Int(n.layer);
  field(w, "bank", n.bank);
  if (const ParticipantConfig* p = config.findParticipant(n.bank)) field(w, "bank_name", p->name);
  field(w, "account", maskAccount(n.accountNumber));
  field(w, "ifsc", n.ifsc);
  moneyField(w, "amount", n.amount);
  field(w, "sent_at", n.sentAt);
  field(w, "respond_by", formatRfc3339(n.respondByUnix));
  field(w, "delivery", n.state);
  field(w, "status", n.statusText());
  w.Key("overdue");
  w.Bool(n.overdue);
  if (n.answer) {
    const FreezeAnswer& a = *n.answer;
    field(w, "response", a.id);
    field(w, "bank_ref", a.bankRef);
    moneyField(w, "held", a.held);
    w.Key("response_seconds");
    w.Int64(n.responseSeconds);
    w.Key("outflows");
    w.StartArray();
    for (const Outflow& o : a.outflows) {
      w.StartObject();
      field(w, "kind", o.kind);
      moneyField(w, "amount", o.amount);
      moneyField(w, "traced", o.traced);
      field(w, "at", o.at);
      if (!o.accountNumber.empty()) {
        field(w, "account", maskAccount(o.accountNumber));
        field(w, "ifsc", o.ifsc);
      }
      if (!o.atmId.empty()) field(w, "atm_id", o.atmId);
      if (!o.place.empty()) field(w, "place", o.place);
      if (!o.chasedBy.empty()) field(w, "chased_by", o.chasedBy);
      w.EndObject();
    }
    w.EndArray();
  }
  if (n.released > 0) moneyField(w, "released", n.released);
  w.Key("other_cases");
  w.StartArray();
  for (const std::string& other : n.otherCases) w.String(other);
  w.EndArray();
  w.Key("children");
  w.StartArray();
  for (const FreezeNode& child : c.requests)
    if (child.parent == n.id) writeNode(w, c, child, config);
  w.EndArray();
  w.EndObject();
}

}  // namespace

std::string freezeCaseJson(const FreezeCase& c, const HubConfig& config) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  const CaseTotals& t = c.totals;
  w.StartObject();
  field(w, "case", c.caseId);
  w.Key("totals");
  w.StartObject();
  moneyField(w, "disputed", t.disputed);
  moneyField(w, "held", t.held);
  w.Key("escaped");
  w.StartObject();
  moneyField(w, "atm", t.atm);
  moneyField(w, "aeps", t.aeps);
  moneyField(w, "merchant", t.merchant);
  moneyField(w, "other", t.other);
  moneyField(w, "unanswered", t.unanswered);
  moneyField(w, "total", t.escaped());
  w.EndObject();
  moneyField(w, "released", t.released);
  moneyField(w, "awaiting", t.awaiting);
  w.EndObject();
  w.Key("requests");
  w.StartArray();
  for (const FreezeNode& n : c.requests)
    if (n.parent.empty()) writeNode(w, c, n, config);
  w.EndArray();
  w.Key("awaited");
  w.StartArray();
  for (const FreezeNode& n : c.requests) {
    if (n.answer) continue;
    w.StartObject();
    field(w, "request", n.id);
    field(w, "bank", n.bank);
    w.Key("layer");
    w.Int(n.layer);
    moneyField(w, "amount", n.amount);
    field(w, "respond_by", formatRfc3339(n.respondByUnix));
    w.Key("overdue");
    w.Bool(n.overdue);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace dx
