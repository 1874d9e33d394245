#include "message_validator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>

#include "domain_checks.h"

namespace dx {
namespace {

using rapidjson::SizeType;
using rapidjson::Value;
using SchemaDocument = rapidjson::SchemaDocument;
using SchemaValidator = rapidjson::SchemaValidator;
using Pointer = SchemaDocument::PointerType;

constexpr std::size_t kTypeCount = 8;
const char* const kTypeNames[kTypeCount] = {
    "station.record", "freeze.request",   "freeze.response", "freeze.release",
    "notice.awareness", "notice.ack",     "hub.receipt",     "hub.escalation"};
enum TypeIndex : std::size_t {
  kStationRecord, kFreezeRequest, kFreezeResponse, kFreezeRelease,
  kNoticeAwareness, kNoticeAck, kHubReceipt, kHubEscalation
};

bool isFreeze(std::size_t t) {
  return t == kFreezeRequest || t == kFreezeResponse || t == kFreezeRelease;
}
bool needsRef(std::size_t t) {
  return t == kFreezeResponse || t == kFreezeRelease || t == kNoticeAck || t == kHubReceipt;
}

// ---------------------------------------------------------------------------------------------
// Paths as a bank's engineer reads them: body.transactions[0].at

// One step from a value to a child: a member name, or an array index when `key` is null.
struct PathPart {
  const char* key = nullptr;
  SizeType keyLength = 0;
  SizeType index = 0;
};

bool plainName(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return !(key[0] >= '0' && key[0] <= '9');
}

// A member name from the input, safe to show: quotes and control characters escaped, at most
// 40 characters, and digits masked (all but the last four) when it has six or more, so an
// unknown field named after an account or Aadhaar number does not leak it into logs.
std::string shownName(std::string_view key) {
  auto digitWidth = [&](std::size_t i) -> std::size_t {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(key[k]); };
    if (key[i] >= '0' && key[i] <= '9') return 1;
    if (b(i) == 0xE0 && i + 2 < key.size() && b(i + 1) == 0xA5 && b(i + 2) >= 0xA6 &&
        b(i + 2) <= 0xAF)
      return 3;  // Devanagari digit
    return 0;
  };
  std::size_t digits = 0;
  for (std::size_t i = 0; i < key.size();) {
    const std::size_t w = digitWidth(i);
    digits += w ? 1 : 0;
    i += w ? w : 1;
  }
  const bool mask = digits >= 6;
  std::string out = "\"";
  std::size_t chars = 0, seen = 0, i = 0;
  while (i < key.size() && chars < 40) {
    if (const std::size_t w = digitWidth(i)) {
      ++seen;
      if (mask && seen + 4 <= digits)
        out += 'X';
      else
        out.append(key.substr(i, w));
      i += w;
      ++chars;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
    // Count characters, not bytes: UTF-8 continuation bytes do not start one.
    while (i < key.size() && (static_cast<unsigned char>(key[i]) & 0xC0) == 0x80) out += key[i++];
    ++chars;
  }
  if (i < key.size()) out += "...";
  out += '"';
  return out;
}

std::string pathText(const char* prefix, const PathPart* parts, std::size_t count) {
  std::string out = prefix;
  for (std::size_t i = 0; i < count; ++i) {
    const PathPart& p = parts[i];
    if (!p.key) {
      out += '[';
      out += std::to_string(p.index);
      out += ']';
    } else if (plainName({p.key, p.keyLength})) {
      if (!out.empty()) out += '.';
      out.append(p.key, p.keyLength);
    } else {
      out += '[';
      out += shownName({p.key, p.keyLength});
      out += ']';
    }
  }
  return out.empty() ? "envelope" : out;
}

const char* jsonTypeName(const Value* v) {
  if (!v) return "missing";
  switch (v->GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return v->IsInt64() || v->IsUint64() ? "an integer" : "a number";
  }
  return "a value";
}

const Value* member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// ---------------------------------------------------------------------------------------------
// Domain checks compiled from the schemas: `format` and `x-dx-free-text` say what to check where.

enum class Check { kDateTime, kDate, kUuid, kFreeText };

struct Step {
  std::string key;  // member name; empty with `each` set for every element of an array
  bool each = false;
};

struct FieldCheck {
  std::vector<Step> steps;
  Check check;
};

constexpr std::size_t kMaxSchemaDepth = 16;

struct SchemaSource {
  std::string type;  // "envelope" or a message type
  std::string path;
  rapidjson::Document doc;
  std::vector<FieldCheck> checks;  // format checks first, free text last
};

// ---------------------------------------------------------------------------------------------
// Loading and linting a schema file.

[[noreturn]] void refuse(const SchemaSource& s, const std::string& where, const std::string& what) {
  throw std::runtime_error("schema " + s.path + ": " + (where.empty() ? "" : where + ": ") + what);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("schema " + path + ": cannot read it: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("schema " + path + ": read error");
  return text.str();
}

constexpr std::string_view kKeywords[] = {
    "$schema",   "title",     "description", "type",      "properties", "required",
    "additionalProperties",   "items",       "enum",      "pattern",    "minLength",
    "maxLength", "minimum",   "maximum",     "exclusiveMinimum",        "exclusiveMaximum",
    "minItems",  "maxItems",  "uniqueItems", "minProperties",           "maxProperties",
    "format",    "x-dx-free-text"};
constexpr std::string_view kTypes[] = {"object", "array", "string", "integer", "number",
                                       "boolean", "null"};

bool known(std::string_view word, const std::string_view* list, std::size_t n) {
  return std::find(list, list + n, word) != list + n;
}

void lintSchema(SchemaSource& s, const Value& node, const std::string& where,
                std::vector<Step>& steps, bool isField) {
  if (!node.IsObject()) refuse(s, where, "a schema must be a JSON object");
  if (steps.size() > kMaxSchemaDepth) refuse(s, where, "nested too deep");
  for (auto a = node.MemberBegin(); a != node.MemberEnd(); ++a) {
    const std::string_view key(a->name.GetString(), a->name.GetStringLength());
    if (!known(key, kKeywords, std::size(kKeywords)))
      refuse(s, where,
             "keyword \"" + std::string(key) +
                 "\" is not one dxhub uses; RapidJSON 1.1 implements draft-04 and would ignore or "
                 "half-apply it (no const, if/then, $ref, oneOf, patternProperties here)");
    for (auto b = a + 1; b != node.MemberEnd(); ++b)
      if (a->name == b->name) refuse(s, where, "duplicate key \"" + std::string(key) + "\"");
  }
  if (isField && !member(node, "description"))
    refuse(s, where, "every field needs a \"description\"");

  const Value* type = member(node, "type");
  if (!type || !type->IsString() || !known(type->GetString(), kTypes, std::size(kTypes)))
    refuse(s, where, "\"type\" must be one draft-04 type name");
  const std::string_view typeName = type->GetString();

  if (const Value* p = member(node, "pattern")) {
    if (!p->IsString()) refuse(s, where, "\"pattern\" must be a string");
    // RapidJSON drops a pattern its engine cannot parse and then accepts every string.
    rapidjson::internal::Regex regex(p->GetString());
    if (!regex.IsValid())
      refuse(s, where,
             "pattern " + std::string(p->GetString()) +
                 " is not understood by RapidJSON's regex engine (write [0-9], not \\d; no "
                 "lookaround, no \\w)");
  }
  if (const Value* e = member(node, "enum"); e && (!e->IsArray() || e->Empty()))
    refuse(s, where, "\"enum\" must be a non-empty array");
  const Value* format = member(node, "format");
  if (format) {
    const std::string_view f = format->IsString() ? format->GetString() : "";
    Check check;
    if (f == "date-time")
      check = Check::kDateTime;
    else if (f == "date")
      check = Check::kDate;
    else if (f == "uuid")
      check = Check::kUuid;
    else
      refuse(s, where, "\"format\" must be \"date-time\", \"date\" or \"uuid\"");
    if (typeName != "string") refuse(s, where, "\"format\" applies to strings only");
    s.checks.push_back({steps, check});
  }
  const Value* freeText = member(node, "x-dx-free-text");
  if (freeText) {
    if (!freeText->IsTrue() || typeName != "string")
      refuse(s, where, "\"x-dx-free-text\" must be true, on a string");
    s.checks.push_back({steps, Check::kFreeText});
  }
  if (typeName == "string" && !freeText && !format && !member(node, "pattern") &&
      !member(node, "enum"))
    refuse(s, where,
           "a string field needs a \"pattern\", an \"enum\" or a \"format\", or must be marked "
           "\"x-dx-free-text\": true (so no free text escapes the Aadhaar check)");

  const Value* properties = member(node, "properties");
  if (properties) {
    if (typeName != "object" || !properties->IsObject())
      refuse(s, where, "\"properties\" must be an object, on an object schema");
    const Value* additional = member(node, "additionalProperties");
    if (!additional || !additional->IsFalse())
      refuse(s, where, "an object with properties must say \"additionalProperties\": false");
    for (auto m = properties->MemberBegin(); m != properties->MemberEnd(); ++m) {
      steps.push_back({m->name.GetString(), false});
      lintSchema(s, m->value, where + "/properties/" + m->name.GetString(), steps, true);
      steps.pop_back();
    }
  } else if (typeName == "object" && member(node, "additionalProperties")) {
    refuse(s, where, "\"additionalProperties\" without \"properties\"");
  }
  if (const Value* required = member(node, "required")) {
    if (!required->IsArray() || required->Empty())
      refuse(s, where, "\"required\" must be a non-empty array (draft-04)");
    for (const Value& name : required->GetArray())
      if (!name.IsString() || !properties || !member(*properties, name.GetString()))
        refuse(s, where, "\"required\" names a field that \"properties\" does not define");
  }
  if (const Value* items = member(node, "items")) {
    if (typeName != "array" || !items->IsObject())
      refuse(s, where, "\"items\" must be one schema, on an array schema");
    steps.push_back({"", true});
    lintSchema(s, *items, where + "/items", steps, true);
    steps.pop_back();
  } else if (typeName == "array") {
    refuse(s, where, "an array schema needs \"items\"");
  }
}

void loadSource(SchemaSource& s, const std::string& dir, const std::string& type) {
  s.type = type;
  s.path = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + type + ".json";
  const std::string text = readFile(s.path);
  s.doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (s.doc.HasParseError())
    refuse(s, "", std::string("not valid JSON: ") + rapidjson::GetParseError_En(s.doc.GetParseError()) +
                      " at byte " + std::to_string(s.doc.GetErrorOffset()));
  if (!s.doc.IsObject()) refuse(s, "", "a schema must be a JSON object");
  const Value* type_ = member(s.doc, "type");
  if (!type_ || !type_->IsString() || std::string_view(type_->GetString()) != "object")
    refuse(s, "", "the top level must be \"type\": \"object\"");
  const Value* draft = member(s.doc, "$schema");
  if (!draft || !draft->IsString() ||
      std::string_view(draft->GetString()) != "http://json-schema.org/draft-04/schema#")
    refuse(s, "", "\"$schema\" must be \"http://json-schema.org/draft-04/schema#\"");
  std::vector<Step> steps;
  lintSchema(s, s.doc, "", steps, false);
  std::stable_partition(s.checks.begin(), s.checks.end(),
                        [](const FieldCheck& c) { return c.check != Check::kFreeText; });
}

// ---------------------------------------------------------------------------------------------
// Schema errors in words.

std::string quotedList(const Value& names) {
  std::string out;
  for (const Value& n : names.GetArray()) {
    if (!out.empty()) out += ", ";
    if (n.IsString())
      out.append(n.GetString(), n.GetStringLength());
    else
      out += "(non-string)";
  }
  return out;
}

std::string propertyNames(const Value* schema) {
  std::string out;
  if (const Value* props = schema ? member(*schema, "properties") : nullptr)
    for (auto m = props->MemberBegin(); m != props->MemberEnd(); ++m) {
      if (!out.empty()) out += ", ";
      out += m->name.GetString();
    }
  return out;
}

std::string numberText(const Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  std::ostringstream out;
  out << v.GetDouble();
  return out.str();
}

std::string formatWords(std::string_view format) {
  if (format == "date-time") return "must be an RFC 3339 time with offset, e.g. 2026-10-06T10:15:00+05:30";
  if (format == "date") return "must be a real date as YYYY-MM-DD, e.g. 2026-10-06";
  return "must be a UUID (RFC 9562), e.g. 0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012";
}

constexpr std::string_view kMoneyPattern = "^[0-9]{1,13}(\\.[0-9]{1,2})?$";

// Turns the validator's first error into "path: what is wrong".
std::string describe(const SchemaValidator& validator, const rapidjson::Document& schemaSource,
                     const Value& instance, const char* prefix) {
  const std::string keyword = validator.GetInvalidSchemaKeyword() ? validator.GetInvalidSchemaKeyword() : "";
  const Pointer schemaPointer = validator.GetInvalidSchemaPointer();
  const Value* schema = schemaPointer.Get(schemaSource);
  const Pointer documentPointer = validator.GetInvalidDocumentPointer();

  // Walk the document pointer through the instance, naming each step as it goes.
  std::array<PathPart, 64> parts;
  std::size_t count = 0;
  const Value* at = &instance;
  const std::size_t tokens = std::min<std::size_t>(documentPointer.GetTokenCount(), parts.size());
  for (std::size_t i = 0; i < tokens; ++i) {
    const Pointer::Token& t = documentPointer.GetTokens()[i];
    if (at && at->IsArray()) {
      parts[count++] = {nullptr, 0, t.index};
      at = t.index < at->Size() ? &(*at)[t.index] : nullptr;
    } else {
      parts[count++] = {t.name, t.length, 0};
      const Value* next = nullptr;
      if (at && at->IsObject()) {
        const auto m = at->FindMember(Value(rapidjson::StringRef(t.name, t.length)));
        if (m != at->MemberEnd()) next = &m->value;
      }
      at = next;
    }
  }

  if (keyword == "additionalProperties" && count > 0) {
    const PathPart& unknown = parts[count - 1];
    std::string detail = pathText(prefix, parts.data(), count - 1) + ": unknown field " +
                         shownName({unknown.key ? unknown.key : "", unknown.keyLength});
    if (const std::string allowed = propertyNames(schema); !allowed.empty())
      detail += " (allowed: " + allowed + ")";
    return detail;
  }

  const std::string path = pathText(prefix, parts.data(), count);
  const Value* value = schema;  // the failing schema node, for its pattern, enum, limits
  auto num = [&](const char* name) -> std::string {
    const Value* v = value ? member(*value, name) : nullptr;
    return v && v->IsNumber() ? numberText(*v) : "?";
  };
  auto isOne = [&](const char* name) {
    const Value* v = value ? member(*value, name) : nullptr;
    return v && v->IsNumber() && v->GetDouble() == 1.0;
  };

  if (keyword == "required") {
    std::string missing;
    std::size_t n = 0;
    if (const Value* req = value ? member(*value, "required") : nullptr)
      for (const Value& name : req->GetArray())
        if (at && at->IsObject() && !at->HasMember(name)) {
          missing += (n++ ? ", \"" : "\"");
          missing.append(name.GetString(), name.GetStringLength());
          missing += '"';
        }
    return path + (n == 1 ? ": missing required field " : ": missing required fields ") + missing;
  }
  if (keyword == "type") {
    const Value* t = value ? member(*value, "type") : nullptr;
    const std::string want = t && t->IsString() ? t->GetString() : "?";
    const std::string article =
        want == "integer" || want == "object" || want == "array" ? "an " : want == "null" ? "" : "a ";
    std::string detail = path + ": must be " + article + want + ", not " + jsonTypeName(at);
    const Value* pattern = value ? member(*value, "pattern") : nullptr;
    if (pattern && pattern->IsString() && pattern->GetString() == kMoneyPattern)
      detail += " (money is a JSON string of rupees such as \"45000.00\", never a number)";
    return detail;
  }
  if (keyword == "pattern") {
    if (const Value* f = value ? member(*value, "format") : nullptr; f && f->IsString())
      return path + ": " + formatWords(f->GetString());
    const Value* p = value ? member(*value, "pattern") : nullptr;
    return path + ": must match pattern " + (p && p->IsString() ? p->GetString() : "?");
  }
  if (keyword == "enum") {
    const Value* e = value ? member(*value, "enum") : nullptr;
    return path + ": must be one of: " + (e ? quotedList(*e) : std::string("?"));
  }
  if (keyword == "minLength")
    return path + (isOne("minLength") ? ": must not be empty"
                                      : ": must be at least " + num("minLength") + " characters long");
  if (keyword == "maxLength") return path + ": must be at most " + num("maxLength") + " characters long";
  if (keyword == "minimum") {
    const Value* ex = value ? member(*value, "exclusiveMinimum") : nullptr;
    return path + (ex && ex->IsTrue() ? ": must be greater than " : ": must be at least ") + num("minimum");
  }
  if (keyword == "maximum") {
    const Value* ex = value ? member(*value, "exclusiveMaximum") : nullptr;
    return path + (ex && ex->IsTrue() ? ": must be less than " : ": must be at most ") + num("maximum");
  }
  if (keyword == "minItems")
    return path + (isOne("minItems") ? ": must have at least one item"
                                     : ": must have at least " + num("minItems") + " items");
  if (keyword == "maxItems") return path + ": must have at most " + num("maxItems") + " items";
  if (keyword == "minProperties")
    return path + (isOne("minProperties") ? ": must have at least one of: " + propertyNames(value)
                                          : ": must have at least " + num("minProperties") + " fields");
  if (keyword == "maxProperties")
    return path + ": must have at most " + num("maxProperties") + " fields";
  if (keyword == "uniqueItems") return path + ": must not list the same item twice";
  return path + ": does not satisfy \"" + keyword + "\"";
}

// ---------------------------------------------------------------------------------------------
// Compiled schemas. RapidJSON 1.1's regex keeps its matching state inside the compiled pattern
// (regex.h: `mutable Stack state0_, state1_` and a shared `stateSet_`), so one SchemaDocument
// must not validate on two threads at once. Each thread borrows a whole set from a pool instead;
// the pool grows to the number of threads that ever validate at the same time.

struct Compiled {
  std::unique_ptr<SchemaDocument> envelope;
  std::array<std::unique_ptr<SchemaDocument>, kTypeCount> bodies;
  // Validators kept with their documents and Reset() between uses: their stacks stay allocated.
  std::unique_ptr<SchemaValidator> envelopeValidator;
  std::array<std::unique_ptr<SchemaValidator>, kTypeCount> bodyValidators;
};

}  // namespace

struct MessageValidator::Impl {
  SchemaSource envelope;
  std::array<SchemaSource, kTypeCount> bodies;
  std::vector<FieldCheck> envelopeChecks;

  std::mutex mutex;
  std::vector<std::unique_ptr<Compiled>> idle;

  std::unique_ptr<Compiled> compile() const {
    auto c = std::make_unique<Compiled>();
    c->envelope = std::make_unique<SchemaDocument>(envelope.doc);
    c->envelopeValidator = std::make_unique<SchemaValidator>(*c->envelope);
    for (std::size_t t = 0; t < kTypeCount; ++t) {
      c->bodies[t] = std::make_unique<SchemaDocument>(bodies[t].doc);
      c->bodyValidators[t] = std::make_unique<SchemaValidator>(*c->bodies[t]);
    }
    return c;
  }

  std::unique_ptr<Compiled> borrow() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!idle.empty()) {
        std::unique_ptr<Compiled> c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return compile();
  }

  void giveBack(std::unique_ptr<Compiled> c) {
    std::lock_guard<std::mutex> lock(mutex);
    idle.push_back(std::move(c));
  }
};

namespace {

std::optional<Problem> runSchema(SchemaValidator& validator, const rapidjson::Document& source,
                                 const Value& instance, const char* prefix) {
  validator.Reset();
  instance.Accept(validator);
  if (validator.IsValid()) return std::nullopt;
  Problem problem{"schema", describe(validator, source, instance, prefix)};
  validator.Reset();
  return problem;
}

// Visits every string a FieldCheck's steps reach; stops at the first refusal.
class FieldWalker {
 public:
  FieldWalker(const char* prefix) : prefix_(prefix) {}

  std::optional<Problem> run(const Value& root, const FieldCheck& check) {
    check_ = &check;
    depth_ = 0;
    return walk(root, 0);
  }

 private:
  std::optional<Problem> walk(const Value& v, std::size_t step) {
    const std::vector<Step>& steps = check_->steps;
    if (step == steps.size()) return test(v);
    if (depth_ >= parts_.size()) return std::nullopt;
    const Step& s = steps[step];
    if (s.each) {
      if (!v.IsArray()) return std::nullopt;
      for (SizeType i = 0; i < v.Size(); ++i) {
        parts_[depth_++] = {nullptr, 0, i};
        std::optional<Problem> p = walk(v[i], step + 1);
        --depth_;
        if (p) return p;
      }
      return std::nullopt;
    }
    if (!v.IsObject()) return std::nullopt;
    const auto m = v.FindMember(Value(rapidjson::StringRef(s.key.data(), SizeType(s.key.size()))));
    if (m == v.MemberEnd()) return std::nullopt;
    parts_[depth_++] = {m->name.GetString(), m->name.GetStringLength(), 0};
    std::optional<Problem> p = walk(m->value, step + 1);
    --depth_;
    return p;
  }

  std::optional<Problem> test(const Value& v) {
    if (!v.IsString()) return std::nullopt;  // the schema already said what it must be
    const std::string_view text(v.GetString(), v.GetStringLength());
    switch (check_->check) {
      case Check::kDateTime:
        if (isRfc3339Time(text)) return std::nullopt;
        return fail("schema", formatWords("date-time"));
      case Check::kDate:
        if (isDate(text)) return std::nullopt;
        return fail("schema", formatWords("date"));
      case Check::kUuid:
        if (isUuid(text)) return std::nullopt;
        return fail("schema", formatWords("uuid"));
      case Check::kFreeText:
        if (!containsPlainAadhaar(text)) return std::nullopt;
        return fail("pii_aadhaar",
                    "contains a plain Aadhaar number; mask it (e.g. XXXX-XXXX-1234) or leave it out");
    }
    return std::nullopt;
  }

  std::optional<Problem> fail(const char* code, const std::string& what) {
    return Problem{code, pathText(prefix_, parts_.data(), depth_) + ": " + what};
  }

  const char* prefix_;
  const FieldCheck* check_ = nullptr;
  std::array<PathPart, kMaxSchemaDepth + 2> parts_;
  std::size_t depth_ = 0;
};

// A NUL inside a string ends it for RapidJSON's `pattern` (it matches C strings), so
// "SBIN0001234\u0000anything" would pass an IFSC pattern. No field of the contract has a use for
// U+0000: refuse it anywhere.
std::optional<Problem> findNul(const Value& v, std::array<PathPart, 64>& parts, std::size_t depth) {
  if (v.IsString()) {
    if (!std::memchr(v.GetString(), 0, v.GetStringLength())) return std::nullopt;
    return Problem{"schema", pathText("", parts.data(), depth) + ": must not contain U+0000"};
  }
  if (depth >= parts.size()) return std::nullopt;
  if (v.IsArray()) {
    for (SizeType i = 0; i < v.Size(); ++i) {
      parts[depth] = {nullptr, 0, i};
      if (auto p = findNul(v[i], parts, depth + 1)) return p;
    }
  } else if (v.IsObject()) {
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      parts[depth] = {m->name.GetString(), m->name.GetStringLength(), 0};
      if (auto p = findNul(m->value, parts, depth + 1)) return p;
    }
  }
  return std::nullopt;
}

}  // namespace

MessageValidator::MessageValidator(const std::string& schemaDir) : impl_(std::make_unique<Impl>()) {
  loadSource(impl_->envelope, schemaDir, "envelope");
  // The envelope's `type` enum and the body files must agree with types(), or a type could
  // pass the envelope and have no body schema (or the other way round).
  const Value* typeEnum = rapidjson::Pointer("/properties/type/enum").Get(impl_->envelope.doc);
  if (!typeEnum || !typeEnum->IsArray() || typeEnum->Size() != kTypeCount)
    refuse(impl_->envelope, "/properties/type", "\"enum\" must list exactly the 8 message types");
  for (const char* name : kTypeNames) {
    bool listed = false;
    for (const Value& v : typeEnum->GetArray()) listed = listed || (v.IsString() && v == name);
    if (!listed) refuse(impl_->envelope, "/properties/type", std::string("\"enum\" lacks ") + name);
  }
  const Value* body = rapidjson::Pointer("/properties/body").Get(impl_->envelope.doc);
  if (!body || member(*body, "properties"))
    refuse(impl_->envelope, "/properties/body",
           "must be a plain {\"type\": \"object\"}: bodies are checked by <type>.json");
  for (std::size_t t = 0; t < kTypeCount; ++t) loadSource(impl_->bodies[t], schemaDir, kTypeNames[t]);
  // Compile one set now: a schema RapidJSON cannot compile fails here, at start-up.
  impl_->idle.push_back(impl_->compile());
}

MessageValidator::~MessageValidator() = default;
MessageValidator::MessageValidator(MessageValidator&&) noexcept = default;
MessageValidator& MessageValidator::operator=(MessageValidator&&) noexcept = default;

const std::vector<std::string>& MessageValidator::types() {
  static const std::vector<std::string> names(std::begin(kTypeNames), std::end(kTypeNames));
  return names;
}

std::optional<Problem> MessageValidator::validate(const Value& envelope) const {
  std::size_t type = kTypeCount;
  {
    // Borrow a compiled set for the schema checks and give it back on every path out.
    struct Lease {
      Impl& impl;
      std::unique_ptr<Compiled> set;
      ~Lease() { impl.giveBack(std::move(set)); }
      Compiled* operator->() { return set.get(); }
    } lease{*impl_, impl_->borrow()};
    if (auto p = runSchema(*lease->envelopeValidator, impl_->envelope.doc, envelope, ""))
      return p;
    const Value& typeValue = envelope["type"];
    for (std::size_t t = 0; t < kTypeCount; ++t)
      if (typeValue == kTypeNames[t]) type = t;
    if (type == kTypeCount)  // the enum matched by hash only; never expected
      return Problem{"schema", "type: must be one of the message types"};
    if (auto p = runSchema(*lease->bodyValidators[type], impl_->bodies[type].doc, envelope["body"],
                           "body"))
      return p;
  }

  // Domain checks.
  std::array<PathPart, 64> parts;
  if (auto p = findNul(envelope, parts, 0)) return p;

  FieldWalker envelopeWalker("");
  for (const FieldCheck& c : impl_->envelope.checks)
    if (auto p = envelopeWalker.run(envelope, c)) return p;
  if (needsRef(type) && !envelope.HasMember("ref"))
    return Problem{"schema", std::string("ref: required on ") + kTypeNames[type] +
                                 " (the id of the message it answers)"};
  if (isFreeze(type)) {
    const Value* c = member(envelope, "case");
    if (!c) return Problem{"schema", std::string("case: required on ") + kTypeNames[type] +
                                         " (the NCRP acknowledgement number or the cyber cell's "
                                         "case number)"};
    if (c->GetStringLength() == 0 || c->GetStringLength() > 64)
      return Problem{"schema", "case: must be 1 to 64 characters"};
  }

  const Value& body = envelope["body"];
  if (type == kFreezeResponse) {
    const Value& outflows = body["outflows"];
    for (SizeType i = 0; i < outflows.Size(); ++i) {
      const Value& o = outflows[i];
      if (o["kind"] == "transfer" && !o.HasMember("account"))
        return Problem{"schema", "body.outflows[" + std::to_string(i) +
                                     "].account: required when kind is \"transfer\" (the "
                                     "receiving account: number and ifsc)"};
    }
  }

  FieldWalker bodyWalker("body");
  for (const FieldCheck& c : impl_->bodies[type].checks)
    if (auto p = bodyWalker.run(body, c)) return p;
  return std::nullopt;
}

}  // namespace dx
