#include "record_book.h"

#include <stdexcept>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "strict_json.h"

namespace dx::station_records {

namespace {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

const std::vector<const char*> kSchema = {
    "CREATE TABLE IF NOT EXISTS records ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id VARCHAR(64) NOT NULL UNIQUE,"
    " station VARCHAR(128) NOT NULL, case_no VARCHAR(64) NOT NULL,"
    " created VARCHAR(64) NOT NULL, created_ms BIGINT NOT NULL,"
    " registered_on VARCHAR(16) NOT NULL, category VARCHAR(32) NOT NULL,"
    " status VARCHAR(32) NOT NULL, amount_lost VARCHAR(32) NOT NULL,"
    " amount_frozen VARCHAR(32) NOT NULL, amount_recovered VARCHAR(32) NOT NULL,"
    " ncrp_ack VARCHAR(64) NOT NULL, body TEXT NOT NULL, stored_at VARCHAR(64) NOT NULL)",
    "CREATE INDEX IF NOT EXISTS records_by_case ON records (station, case_no, created_ms, seq)",
    "CREATE INDEX IF NOT EXISTS records_by_month ON records (registered_on)",
};

const char* const kColumns =
    "r.seq, r.message_id, r.station, r.case_no, r.created, r.registered_on, r.category,"
    " r.status, r.amount_lost, r.amount_frozen, r.amount_recovered, r.ncrp_ack, r.body";

// Milliseconds since the epoch of an RFC 3339 time (fractions to the millisecond), or 0.
std::int64_t createdMs(const std::string& created) {
  std::optional<std::int64_t> s = parseRfc3339(created);
  if (!s) return 0;
  std::int64_t ms = 0;
  if (created.size() > 20 && created[19] == '.') {
    int digits = 0;
    for (std::size_t i = 20; i < created.size() && digits < 3; ++i, ++digits) {
      if (created[i] < '0' || created[i] > '9') break;
      ms = ms * 10 + (created[i] - '0');
    }
    while (digits++ < 3) ms *= 10;
  }
  return *s * 1000 + ms;
}

std::string str(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

std::vector<std::string> strings(const rapidjson::Value& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.FindMember(key);
  if (it != obj.MemberEnd() && it->value.IsArray())
    for (const rapidjson::Value& v : it->value.GetArray())
      if (v.IsString()) out.emplace_back(v.GetString());
  return out;
}

template <class F>
auto guarded(const std::string& path, const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    throw StateError(path + ": " + what + ": " + e.displayText());
  }
}

}  // namespace

RecordBook::RecordBook(const std::string& path)
    : path_(path), session_(openSqlite(path, kSchema)) {}

RecordBook::~RecordBook() = default;

bool RecordBook::store(const Message& message) {
  rapidjson::Document env;
  if (parseStrict(message.payload, env) || !env.IsObject())
    throw std::invalid_argument("the message's envelope is not JSON");
  auto b = env.FindMember("body");
  if (str(env, "type") != "station.record" || b == env.MemberEnd() || !b->value.IsObject())
    throw std::invalid_argument("the message is not a station.record");
  const rapidjson::Value& body = b->value;
  std::string caseNo = str(body, "case_no");
  if (caseNo.empty()) throw std::invalid_argument("the record has no case_no");
  const std::string station = message.from.empty() ? str(env, "from") : message.from;
  const std::string id = message.id.empty() ? str(env, "id") : message.id;
  const std::string created = message.created.empty() ? str(env, "created") : message.created;
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  body.Accept(w);
  const std::string bodyText(buf.GetString(), buf.GetSize());

  std::lock_guard lock(mutex_);
  return guarded(path_, "store", [&] {
    Poco::Int64 seen = 0;
    *session_ << "SELECT COUNT(*) FROM records WHERE message_id = ?", bind(id), into(seen), now;
    if (seen > 0) return false;
    *session_ << "INSERT INTO records (message_id, station, case_no, created, created_ms,"
                 " registered_on, category, status, amount_lost, amount_frozen, amount_recovered,"
                 " ncrp_ack, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bind(id), bind(station), bind(caseNo), bind(created),
        bind(static_cast<Poco::Int64>(createdMs(created))), bind(str(body, "registered_on")),
        bind(str(body, "category")), bind(str(body, "status")), bind(str(body, "amount_lost")),
        bind(str(body, "amount_frozen")), bind(str(body, "amount_recovered")),
        bind(str(body, "ncrp_ack")), bind(bodyText),
        bind(formatRfc3339(SystemClock::instance().unixSeconds())), now;
    return true;
  });
}

std::vector<StationRecord> RecordBook::select(const std::string& where,
                                              const std::vector<std::string>& args,
                                              const std::string& order) {
  std::lock_guard lock(mutex_);
  return guarded(path_, "read", [&] {
    Statement st(*session_);
    st << "SELECT " << kColumns
       << ", (SELECT COUNT(*) FROM records v WHERE v.station = r.station AND v.case_no ="
          " r.case_no) FROM records r "
       << where << " ORDER BY " << order;
    for (const std::string& a : args) st, bind(a);
    st.execute();
    RecordSet rs(st);
    std::vector<StationRecord> out;
    for (std::size_t row = 0; row < rs.rowCount(); ++row) {
      auto s = [&](std::size_t c) { return rs.value(c, row).convert<std::string>(); };
      StationRecord r;
      r.arrival = rs.value(0, row).convert<Poco::Int64>();
      r.messageId = s(1);
      r.station = s(2);
      r.caseNo = s(3);
      r.created = s(4);
      r.registeredOn = s(5);
      r.category = s(6);
      r.status = s(7);
      r.amountLost = s(8);
      r.amountFrozen = s(9);
      r.amountRecovered = s(10);
      r.ncrpAck = s(11);
      rapidjson::Document body;
      if (!parseStrict(s(12), body) && body.IsObject()) {
        r.sections = strings(body, "sections");
        r.actions = strings(body, "actions");
      }
      r.versions = rs.value(13, row).convert<int>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<StationRecord> RecordBook::current() {
  return select(
      "WHERE NOT EXISTS (SELECT 1 FROM records o WHERE o.station = r.station AND"
      " o.case_no = r.case_no AND (o.created_ms > r.created_ms OR"
      " (o.created_ms = r.created_ms AND o.seq > r.seq)))",
      {}, "r.station, r.case_no");
}

std::vector<StationRecord> RecordBook::history(const std::string& station,
                                               const std::string& caseNo) {
  return select("WHERE r.station = ? AND r.case_no = ?", {station, caseNo}, "r.created_ms, r.seq");
}

}  // namespace dx::station_records
