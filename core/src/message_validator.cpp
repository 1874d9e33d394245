#include "message_validator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <Poco/Exception.h>
#include <Poco/RegularExpression.h>
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
const char* const kTypeNames[kTypeCount] = {"station.record", "freeze.request",   "freeze.response",
                                            "freeze.release", "notice.awareness", "notice.ack",
                                            "hub.receipt",    "hub.escalation"};
enum TypeIndex : std::size_t {
  kStationRecord,
  kFreezeRequest,
  kFreezeResponse,
  kFreezeRelease,
  kNoticeAwareness,
  kNoticeAck,
  kHubReceipt,
  kHubEscalation
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
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return v->IsInt64() || v->IsUint64() ? "an integer" : "a number";
  }
  return "a value";
}

const Value* member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// ---------------------------------------------------------------------------------------------
// Checks compiled from the schemas, run after RapidJSON's structural validation: `pattern`
// (see below), `format` and `x-dx-free-text` say what to check where.
//
// Why `pattern` is not left to RapidJSON 1.1: its regex engine (internal/regex.h) keeps matching
// state inside the compiled pattern, so a SchemaDocument cannot be shared between threads; it
// follows every split state again for each active state, so `[..]{0,63}` costs ~120 µs per
// string and the contract's money pattern ~1.5 µs; and it matches C strings, so
// "SBIN0001234\u0000junk" passes the IFSC pattern. The hub therefore compiles the schema for
// RapidJSON without its patterns and matches them with PCRE (through Poco), on the string's
// real length, from any thread, in ~0.1 µs.

enum class Format { kNone, kDateTime, kDate, kUuid };

struct Step {
  std::string key;  // member name; empty with `each` set for every element of an array
  bool each = false;
};

struct FieldCheck {
  std::vector<Step> steps;
  std::shared_ptr<const Poco::RegularExpression> pattern;  // null when the field has none
  std::string patternText;
  Format format = Format::kNone;
  bool freeText = false;
};

constexpr std::size_t kMaxSchemaDepth = 16;
// PCRE 1 without JIT recurses while it backtracks through groups; the contract's patterned
// fields are all short, so a longer value is refused before it reaches the matcher.
constexpr std::size_t kMaxPatternedLength = 1024;

struct SchemaSource {
  std::string type;  // "envelope" or a message type
  std::string path;
  rapidjson::Document doc;       // as written, for error messages
  rapidjson::Document stripped;  // without `pattern`, compiled for RapidJSON
  std::unique_ptr<SchemaDocument> compiled;
  std::vector<FieldCheck> formatChecks;    // pattern and format, in schema order
  std::vector<FieldCheck> freeTextChecks;  // Aadhaar, after every format check passed
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

constexpr std::string_view kKeywords[] = {"$schema",
                                          "title",
                                          "description",
                                          "type",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "enum",
                                          "pattern",
                                          "minLength",
                                          "maxLength",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "minItems",
                                          "maxItems",
                                          "uniqueItems",
                                          "minProperties",
                                          "maxProperties",
                                          "format",
                                          "x-dx-free-text"};
constexpr std::string_view kTypes[] = {"object", "array",   "string", "integer",
                                       "number", "boolean", "null"};

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

  FieldCheck check;
  check.steps = steps;
  const Value* pattern = member(node, "pattern");
  if (pattern) {
    if (!pattern->IsString() || typeName != "string")
      refuse(s, where, "\"pattern\" must be a string, on a string");
    // Kept to the subset every draft-04 validator reads the same way. RapidJSON's own engine is
    // the narrowest (no \d, \w, lookaround, lazy quantifiers) and drops, without a word, a
    // pattern it cannot parse, so a bank validating with RapidJSON would accept anything.
    if (!rapidjson::internal::Regex(pattern->GetString()).IsValid())
      refuse(s, where,
             "pattern " + std::string(pattern->GetString()) +
                 " is outside the portable subset that RapidJSON's regex engine parses (write "
                 "[0-9], not \\d; no \\w, lookaround or lazy quantifiers)");
    try {
      check.pattern = std::make_shared<const Poco::RegularExpression>(
          pattern->GetString(),
          Poco::RegularExpression::RE_UTF8 | Poco::RegularExpression::RE_DOLLAR_ENDONLY);
    } catch (const Poco::Exception& e) {
      refuse(s, where, "pattern " + std::string(pattern->GetString()) + ": " + e.displayText());
    }
    check.patternText = pattern->GetString();
  }
  if (const Value* e = member(node, "enum"); e && (!e->IsArray() || e->Empty()))
    refuse(s, where, "\"enum\" must be a non-empty array");
  const Value* format = member(node, "format");
  if (format) {
    const std::string_view f = format->IsString() ? format->GetString() : "";
    if (f == "date-time")
      check.format = Format::kDateTime;
    else if (f == "date")
      check.format = Format::kDate;
    else if (f == "uuid")
      check.format = Format::kUuid;
    else
      refuse(s, where, "\"format\" must be \"date-time\", \"date\" or \"uuid\"");
    if (typeName != "string") refuse(s, where, "\"format\" applies to strings only");
  }
  if (check.pattern || format) s.formatChecks.push_back(check);
  const Value* freeText = member(node, "x-dx-free-text");
  if (freeText) {
    if (!freeText->IsTrue() || typeName != "string")
      refuse(s, where, "\"x-dx-free-text\" must be true, on a string");
    FieldCheck text;
    text.steps = steps;
    text.freeText = true;
    s.freeTextChecks.push_back(std::move(text));
  }
  if (typeName == "string" && !freeText && !format && !pattern && !member(node, "enum"))
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

// Removes `pattern` from every schema node (the linted shape: properties and items only).
void stripPatterns(Value& node) {
  node.RemoveMember("pattern");
  if (node.HasMember("properties")) {
    Value& properties = node["properties"];
    // By index: RapidJSON 1.1's mutable member iterators trip C++20's reversed operator!=.
    for (SizeType i = 0; i < properties.MemberCount(); ++i)
      stripPatterns((properties.MemberBegin() + i)->value);
  }
  if (node.HasMember("items")) stripPatterns(node["items"]);
}

void loadSource(SchemaSource& s, const std::string& dir, const std::string& type) {
  s.type = type;
  s.path = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + type + ".json";
  const std::string text = readFile(s.path);
  s.doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (s.doc.HasParseError())
    refuse(s, "",
           std::string("not valid JSON: ") + rapidjson::GetParseError_En(s.doc.GetParseError()) +
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

  s.stripped.CopyFrom(s.doc, s.stripped.GetAllocator());
  stripPatterns(s.stripped);
  s.compiled = std::make_unique<SchemaDocument>(s.stripped);
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

std::string formatWords(Format format) {
  switch (format) {
    case Format::kDateTime:
      return "must be an RFC 3339 time with offset, e.g. 2026-10-06T10:15:00+05:30";
    case Format::kDate:
      return "must be a real date as YYYY-MM-DD, e.g. 2026-10-06";
    case Format::kUuid:
      return "must be a UUID (RFC 9562), e.g. 0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012";
    case Format::kNone:
      break;
  }
  return "has the wrong format";
}

constexpr std::string_view kMoneyPattern = "^[0-9]{1,13}(\\.[0-9]{1,2})?$";

// Turns the validator's first error into "path: what is wrong".
std::string describe(const SchemaValidator& validator, const rapidjson::Document& schemaSource,
                     const Value& instance, const char* prefix) {
  const std::string keyword =
      validator.GetInvalidSchemaKeyword() ? validator.GetInvalidSchemaKeyword() : "";
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
    const std::string article = want == "integer" || want == "object" || want == "array" ? "an "
                                : want == "null"                                         ? ""
                                                                                         : "a ";
    std::string detail = path + ": must be " + article + want + ", not " + jsonTypeName(at);
    const Value* pattern = value ? member(*value, "pattern") : nullptr;
    if (pattern && pattern->IsString() && pattern->GetString() == kMoneyPattern)
      detail += " (money is a JSON string of rupees such as \"45000.00\", never a number)";
    return detail;
  }
  if (keyword == "enum") {
    const Value* e = value ? member(*value, "enum") : nullptr;
    return path + ": must be one of: " + (e ? quotedList(*e) : std::string("?"));
  }
  if (keyword == "minLength")
    return path + (isOne("minLength")
                       ? ": must not be empty"
                       : ": must be at least " + num("minLength") + " characters long");
  if (keyword == "maxLength")
    return path + ": must be at most " + num("maxLength") + " characters long";
  if (keyword == "minimum") {
    const Value* ex = value ? member(*value, "exclusiveMinimum") : nullptr;
    return path + (ex && ex->IsTrue() ? ": must be greater than " : ": must be at least ") +
           num("minimum");
  }
  if (keyword == "maximum") {
    const Value* ex = value ? member(*value, "exclusiveMaximum") : nullptr;
    return path + (ex && ex->IsTrue() ? ": must be less than " : ": must be at most ") +
           num("maximum");
  }
  if (keyword == "minItems")
    return path + (isOne("minItems") ? ": must have at least one item"
                                     : ": must have at least " + num("minItems") + " items");
  if (keyword == "maxItems") return path + ": must have at most " + num("maxItems") + " items";
  if (keyword == "minProperties")
    return path + (isOne("minProperties")
                       ? ": must have at least one of: " + propertyNames(value)
                       : ": must have at least " + num("minProperties") + " fields");
  if (keyword == "maxProperties")
    return path + ": must have at most " + num("maxProperties") + " fields";
  if (keyword == "uniqueItems") return path + ": must not list the same item twice";
  return path + ": does not satisfy \"" + keyword + "\"";
}

}  // namespace

struct MessageValidator::Impl {
  SchemaSource envelope;
  std::array<SchemaSource, kTypeCount> bodies;
};

namespace {

// RapidJSON's structural check (types, required, unknown fields, enums, limits). A validator is
// cheap to make and holds the per-message state, so each call has its own; the SchemaDocument
// without regexes is immutable and shared.
std::optional<Problem> runSchema(const SchemaSource& source, const Value& instance,
                                 const char* prefix, bool skipBody = false) {
  SchemaValidator validator(*source.compiled);
  if (skipBody && instance.IsObject()) {
    // The envelope schema says only that `body` is an object, and the body schema walks it next:
    // show the envelope validator an empty object instead of walking the body twice.
    bool ok = validator.StartObject();
    for (auto m = instance.MemberBegin(); ok && m != instance.MemberEnd(); ++m) {
      ok = validator.Key(m->name.GetString(), m->name.GetStringLength(), false);
      if (ok && m->value.IsObject() && m->name == "body")
        ok = validator.StartObject() && validator.EndObject(0);
      else if (ok)
        ok = m->value.Accept(validator);
    }
    if (ok) validator.EndObject(instance.MemberCount());
  } else {
    instance.Accept(validator);
  }
  if (validator.IsValid()) return std::nullopt;
  return Problem{"schema", describe(validator, source.doc, instance, prefix)};
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
    const FieldCheck& c = *check_;
    if (c.freeText) {
      if (!containsPlainAadhaar(text)) return std::nullopt;
      return fail("pii_aadhaar",
                  "contains a plain Aadhaar number; mask it (e.g. XXXX-XXXX-1234) or leave it out");
    }
    bool ok = !c.pattern || matches(*c.pattern, text);
    switch (c.format) {
      case Format::kNone:
        if (ok) return std::nullopt;
        return fail("schema", "must match pattern " + c.patternText);
      case Format::kDateTime:
        ok = ok && isRfc3339Time(text);
        break;
      case Format::kDate:
        ok = ok && isDate(text);
        break;
      case Format::kUuid:
        ok = ok && isUuid(text);
        break;
    }
    if (ok) return std::nullopt;
    return fail("schema", formatWords(c.format));
  }

  static bool matches(const Poco::RegularExpression& pattern, std::string_view text) {
    if (text.size() > kMaxPatternedLength) return false;
    try {
      Poco::RegularExpression::Match m;
      return pattern.match(std::string(text), 0, m, 0) > 0;
    } catch (const Poco::Exception&) {
      return false;  // e.g. invalid UTF-8, or PCRE's match limit: not a match either way
    }
  }

  std::optional<Problem> fail(const char* code, const std::string& what) {
    return Problem{code, pathText(prefix_, parts_.data(), depth_) + ": " + what};
  }

  const char* prefix_;
  const FieldCheck* check_ = nullptr;
  std::array<PathPart, kMaxSchemaDepth + 2> parts_;
  std::size_t depth_ = 0;
};

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
  for (std::size_t t = 0; t < kTypeCount; ++t)
    loadSource(impl_->bodies[t], schemaDir, kTypeNames[t]);
}

MessageValidator::~MessageValidator() = default;
MessageValidator::MessageValidator(MessageValidator&&) noexcept = default;
MessageValidator& MessageValidator::operator=(MessageValidator&&) noexcept = default;

const std::vector<std::string>& MessageValidator::types() {
  static const std::vector<std::string> names(std::begin(kTypeNames), std::end(kTypeNames));
  return names;
}

std::optional<Problem> MessageValidator::validate(const Value& envelope) const {
  // 1. Structure of the envelope, then of the body of its type.
  if (auto p = runSchema(impl_->envelope, envelope, "", true)) return p;
  const Value& typeValue = envelope["type"];
  std::size_t type = 0;
  while (type < kTypeCount && !(typeValue == kTypeNames[type])) ++type;
  if (type == kTypeCount)  // the enum matches by a 64-bit hash; never expected
    return Problem{"schema", "type: must be one of the message types"};
  const SchemaSource& bodySchema = impl_->bodies[type];
  const Value& body = envelope["body"];
  if (auto p = runSchema(bodySchema, body, "body")) return p;

  // 2. Patterns and formats, envelope first.
  FieldWalker envelopeWalker("");
  for (const FieldCheck& c : impl_->envelope.formatChecks)
    if (auto p = envelopeWalker.run(envelope, c)) return p;
  FieldWalker bodyWalker("body");
  for (const FieldCheck& c : bodySchema.formatChecks)
    if (auto p = bodyWalker.run(body, c)) return p;

  // 3. Rules across fields.
  if (needsRef(type) && !envelope.HasMember("ref"))
    return Problem{"schema", std::string("ref: required on ") + kTypeNames[type] +
                                 " (the id of the message it answers)"};
  if (isFreeze(type)) {
    const Value* c = member(envelope, "case");
    if (!c)
      return Problem{"schema", std::string("case: required on ") + kTypeNames[type] +
                                   " (the NCRP acknowledgement number or the cyber cell's case "
                                   "number)"};
    if (c->GetStringLength() == 0 || c->GetStringLength() > 64)
      return Problem{"schema", "case: must be 1 to 64 characters"};
  }
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

  // 4. No plain Aadhaar number in free text.
  for (const FieldCheck& c : bodySchema.freeTextChecks)
    if (auto p = bodyWalker.run(body, c)) return p;
  return std::nullopt;
}

}  // namespace dx
