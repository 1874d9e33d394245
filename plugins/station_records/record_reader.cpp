#include "record_reader.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "crypto.h"
#include "strict_json.h"

namespace dx::station_records {

namespace {

const std::set<std::string> kRequired = {"case_no",       "registered_on",   "category",
                                         "sections",      "status",          "amount_lost",
                                         "amount_frozen", "amount_recovered"};
const std::set<std::string> kListColumns = {"sections", "actions"};

// A placeholder id for the envelope a row is checked in (the message sent gets a fresh one).
constexpr const char* kCheckId = "00000000-0000-4000-8000-000000000000";

struct CsvRow {
  long line = 0;
  std::vector<std::string> fields;
  std::string error;
};

std::string trimmed(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Skips one line break at `pos` (CRLF, LF or a lone CR); true if there was one.
bool skipLineBreak(std::string_view s, std::size_t& pos) {
  if (pos >= s.size()) return false;
  if (s[pos] == '\r') {
    ++pos;
    if (pos < s.size() && s[pos] == '\n') ++pos;
    return true;
  }
  if (s[pos] == '\n') {
    ++pos;
    return true;
  }
  return false;
}

// RFC 4180 records from `pos`, each with the physical line it starts on. A malformed row is
// reported and parsing goes on at the next line; an unclosed quote ends the file.
std::vector<CsvRow> parseCsv(std::string_view s, std::size_t pos, long line) {
  std::vector<CsvRow> rows;
  const std::size_t n = s.size();
  while (pos < n) {
    CsvRow row;
    row.line = line;
    for (;;) {
      std::string field;
      if (s[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < n) {
          char c = s[pos];
          if (c == '"') {
            if (pos + 1 < n && s[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          if (c == '\r' || c == '\n') {  // a line break inside the field: kept as "\n"
            skipLineBreak(s, pos);
            ++line;
            field += '\n';
            continue;
          }
          field += c;
          ++pos;
        }
        if (!closed) {
          row.fields.clear();
          row.error = "csv: a quoted field opened on this row is never closed";
          rows.push_back(std::move(row));
          return rows;
        }
        if (pos < n && s[pos] != ',' && s[pos] != '\r' && s[pos] != '\n') {
          row.error = "csv: text after the closing quote of field " +
                      std::to_string(row.fields.size() + 1) +
                      " (a quote inside a quoted field is written twice)";
          row.fields.clear();
          while (pos < n && s[pos] != '\r' && s[pos] != '\n') ++pos;
          if (skipLineBreak(s, pos)) ++line;
          break;
        }
      } else {
        while (pos < n && s[pos] != ',' && s[pos] != '\r' && s[pos] != '\n') field += s[pos++];
      }
      row.fields.push_back(std::move(field));
      if (pos < n && s[pos] == ',') {
        ++pos;
        if (pos < n) continue;
        row.fields.emplace_back();  // "a,b," at the very end: an empty last field
        break;
      }
      if (skipLineBreak(s, pos)) ++line;
      break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool allEmpty(const std::vector<std::string>& fields) {
  return std::all_of(fields.begin(), fields.end(),
                     [](const std::string& f) { return trimmed(f).empty(); });
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t semi = text.find(';', start);
    std::string item = trimmed(std::string_view(text).substr(
        start, semi == std::string::npos ? std::string::npos : semi - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  return out;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void writeValue(rapidjson::Writer<rapidjson::StringBuffer>& w, const rapidjson::Value& v) {
  v.Accept(w);
}

// The body in canonical field order (only fields it has; a valid body has no others).
std::string canonical(const rapidjson::Value& body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const std::string& name : bodyFields()) {
    auto it = body.FindMember(name.c_str());
    if (it == body.MemberEnd()) continue;
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    writeValue(w, it->value);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

const std::vector<std::string>& bodyFields() {
  static const std::vector<std::string> kFields = {
      "case_no",     "registered_on", "category",         "sections", "status",
      "amount_lost", "amount_frozen", "amount_recovered", "ncrp_ack", "actions"};
  return kFields;
}

std::string bodyHash(std::string_view canonicalBody) {
  return hexLower(sha256(canonicalBody));
}

bool validUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0, n = text.size();
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

ReadResult RecordReader::read(const std::string& fileName, std::string_view content,
                              const std::string& station, const std::string& to) const {
  std::string name = lower(fileName);
  auto endsWith = [&](const char* ext) {
    std::string e = ext;
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (endsWith(".json")) return readJson(content, station, to);
  if (endsWith(".csv")) return readCsv(content, station, to);
  std::size_t i = content.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (i < content.size() && std::isspace(static_cast<unsigned char>(content[i]))) ++i;
  if (i < content.size() && (content[i] == '{' || content[i] == '['))
    return readJson(content, station, to);
  return readCsv(content, station, to);
}

ReadResult RecordReader::readCsv(std::string_view s, const std::string& station,
                                 const std::string& to) const {
  ReadResult result;
  if (s.size() > kMaxFileBytes) {
    result.fileError = "csv: the file is larger than " + std::to_string(kMaxFileBytes) + " bytes";
    return result;
  }
  std::size_t pos = s.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  long line = 1;
  // Comments and blank lines before the header.
  while (pos < s.size()) {
    if (s[pos] == '#') {
      while (pos < s.size() && s[pos] != '\r' && s[pos] != '\n') ++pos;
    } else if (s[pos] != '\r' && s[pos] != '\n') {
      break;
    }
    if (skipLineBreak(s, pos)) ++line;
  }
  std::vector<CsvRow> rows = parseCsv(s, pos, line);
  if (rows.empty()) {
    result.fileError = "csv: the file has no header row";
    return result;
  }
  const CsvRow& header = rows.front();
  if (!header.error.empty()) {
    result.fileError =
        header.error + " (in the header row, line " + std::to_string(header.line) + ")";
    return result;
  }
  std::vector<std::string> columns;
  std::vector<std::string> unknown, duplicated, missing;
  std::set<std::string> seen;
  for (const std::string& raw : header.fields) {
    std::string name = lower(trimmed(raw));
    columns.push_back(name);
    bool known = std::find(bodyFields().begin(), bodyFields().end(), name) != bodyFields().end();
    if (!known)
      unknown.push_back(name.empty() ? "(an empty column name)" : "\"" + name + "\"");
    else if (!seen.insert(name).second)
      duplicated.push_back(name);
  }
  for (const std::string& r : bodyFields())
    if (kRequired.count(r) && !seen.count(r)) missing.push_back(r);
  if (!unknown.empty() || !missing.empty() || !duplicated.empty()) {
    std::string why;
    if (!unknown.empty()) why += "unknown column(s) " + joinNames(unknown);
    if (!missing.empty())
      why += (why.empty() ? "" : "; ") + std::string("missing required column(s) ") +
             joinNames(missing);
    if (!duplicated.empty())
      why +=
          (why.empty() ? "" : "; ") + std::string("column(s) given twice ") + joinNames(duplicated);
    result.fileError = "csv: " + why + " (the columns are " + joinNames(bodyFields()) + ")";
    return result;
  }
  const std::size_t caseColumn = static_cast<std::size_t>(
      std::find(columns.begin(), columns.end(), "case_no") - columns.begin());
  const std::string created = formatRfc3339(SystemClock::instance().unixSeconds());

  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    ReadRow out;
    out.line = row.line;
    if (!row.error.empty()) {
      out.error = row.error;
      result.rows.push_back(std::move(out));
      continue;
    }
    if (allEmpty(row.fields)) continue;
    if (row.fields.size() == columns.size()) out.caseNo = trimmed(row.fields[caseColumn]);
    if (row.fields.size() != columns.size()) {
      out.error = "csv: the row has " + std::to_string(row.fields.size()) +
                  " fields; the header has " + std::to_string(columns.size());
      result.rows.push_back(std::move(out));
      continue;
    }
    rapidjson::Document env(rapidjson::kObjectType);
    auto& a = env.GetAllocator();
    rapidjson::Value body(rapidjson::kObjectType);
    for (std::size_t c = 0; c < columns.size() && out.error.empty(); ++c) {
      std::string value = trimmed(row.fields[c]);
      if (!validUtf8(value)) {
        out.error = "csv: column " + columns[c] + " is not valid UTF-8";
        break;
      }
      if (std::any_of(value.begin(), value.end(), [](char ch) {
            return static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n';
          })) {
        out.error = "csv: column " + columns[c] + " contains a control character";
        break;
      }
      if (kListColumns.count(columns[c])) {
        std::vector<std::string> items = splitList(value);
        if (columns[c] == "actions" && items.empty()) continue;  // optional: no actions yet
        rapidjson::Value list(rapidjson::kArrayType);
        for (const std::string& item : items) list.PushBack(rapidjson::Value(item, a), a);
        body.AddMember(rapidjson::Value(columns[c], a), list, a);
      } else {
        if (columns[c] == "ncrp_ack" && value.empty()) continue;  // optional: none
        body.AddMember(rapidjson::Value(columns[c], a), rapidjson::Value(value, a), a);
      }
    }
    if (!out.error.empty()) {
      result.rows.push_back(std::move(out));
      continue;
    }
    env.AddMember("id", rapidjson::StringRef(kCheckId), a);
    env.AddMember("type", "station.record", a);
    env.AddMember("from", rapidjson::Value(station, a), a);
    env.AddMember("to", rapidjson::Value(to, a), a);
    env.AddMember("created", rapidjson::Value(created, a), a);
    env.AddMember("body", body, a);
    if (std::optional<Problem> p = validator_.validate(env))
      out.error = p->code + ": " + p->detail;
    else
      out.body = canonical(env["body"]);
    result.rows.push_back(std::move(out));
  }
  return result;
}

ReadResult RecordReader::readJson(std::string_view content, const std::string& station,
                                  const std::string& to) const {
  ReadResult result;
  if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.remove_prefix(3);
  rapidjson::Document doc;
  JsonLimits limits;
  limits.maxBytes = kMaxFileBytes;
  limits.maxDepth = 8;
  if (JsonError e = parseStrict(content, doc, limits)) {
    result.fileError = "json: not valid JSON: " + e.message();
    return result;
  }
  std::vector<const rapidjson::Value*> records;
  if (doc.IsObject()) {
    records.push_back(&doc);
  } else if (doc.IsArray()) {
    for (const rapidjson::Value& v : doc.GetArray()) records.push_back(&v);
  } else {
    result.fileError = "json: an export is one record object or an array of record objects";
    return result;
  }
  const std::string created = formatRfc3339(SystemClock::instance().unixSeconds());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const rapidjson::Value& record = *records[i];
    ReadRow out;
    out.line = static_cast<long>(i);
    if (!record.IsObject()) {
      out.error = "schema: record " + std::to_string(i) + " is not a JSON object";
      result.rows.push_back(std::move(out));
      continue;
    }
    auto cn = record.FindMember("case_no");
    if (cn != record.MemberEnd() && cn->value.IsString()) out.caseNo = cn->value.GetString();
    rapidjson::Document env(rapidjson::kObjectType);
    auto& a = env.GetAllocator();
    env.AddMember("id", rapidjson::StringRef(kCheckId), a);
    env.AddMember("type", "station.record", a);
    env.AddMember("from", rapidjson::Value(station, a), a);
    env.AddMember("to", rapidjson::Value(to, a), a);
    env.AddMember("created", rapidjson::Value(created, a), a);
    env.AddMember("body", rapidjson::Value(record, a), a);
    if (std::optional<Problem> p = validator_.validate(env))
      out.error = p->code + ": " + p->detail;
    else
      out.body = canonical(env["body"]);
    result.rows.push_back(std::move(out));
  }
  return result;
}

}  // namespace dx::station_records
