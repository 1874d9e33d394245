#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "crime_report_formats.h"
#include "money.h"

namespace dx {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value);
}

// "cases", the three amounts (strings of rupees, as the contract writes money) and "status".
void writeTally(JsonWriter& w, const Tally& t) {
  w.Key("cases");
  w.Int(t.cases);
  writeString(w, "amount_lost", formatMoney(t.lost));
  writeString(w, "amount_frozen", formatMoney(t.frozen));
  writeString(w, "amount_recovered", formatMoney(t.recovered));
  w.Key("status");
  w.StartObject();
  for (std::size_t s = 0; s < kCaseStatuses.size(); ++s) {
    w.Key(kCaseStatuses[s]);
    w.Int(t.byStatus[s]);
  }
  w.EndObject();
}

}  // namespace

std::string crimeReportJson(const CrimeReport& r) {
  const auto& categories = crimeCategories();
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  writeString(w, "district", r.district);
  writeString(w, "district_hi", r.districtHi);
  writeString(w, "from", r.period.from.text());
  writeString(w, "to", r.period.to.text());
  w.Key("months");
  w.StartArray();
  for (const Month& m : r.months) w.String(m.text());
  w.EndArray();

  w.Key("stations");
  w.StartArray();
  for (std::size_t s = 0; s < r.stations.size(); ++s) {
    w.StartObject();
    writeString(w, "id", r.stations[s].id);
    writeString(w, "name", r.stations[s].name);
    writeString(w, "name_hi", r.stations[s].nameHi);
    writeTally(w, r.stationTotal(s));
    w.Key("cells");  // only the cells with cases
    w.StartArray();
    for (std::size_t c = 0; c < categories.size(); ++c)
      for (std::size_t m = 0; m < r.months.size(); ++m) {
        const Tally& t = r.cell(s, c, m);
        if (t.cases == 0) continue;
        w.StartObject();
        writeString(w, "category", categories[c].id);
        writeString(w, "month", r.months[m].text());
        writeTally(w, t);
        w.EndObject();
      }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();

  w.Key("categories");
  w.StartArray();
  for (std::size_t c = 0; c < categories.size(); ++c) {
    w.StartObject();
    writeString(w, "id", categories[c].id);
    writeString(w, "name", categories[c].en);
    writeString(w, "name_hi", categories[c].hi);
    writeTally(w, r.categoryTotal(c));
    w.EndObject();
  }
  w.EndArray();

  w.Key("by_month");
  w.StartArray();
  for (std::size_t m = 0; m < r.months.size(); ++m) {
    w.StartObject();
    writeString(w, "month", r.months[m].text());
    writeTally(w, r.monthTotal(m));
    w.EndObject();
  }
  w.EndArray();

  w.Key("total");
  w.StartObject();
  writeTally(w, r.total());
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace dx
