#include "strict_json.h"

#include <cstring>
#include <unordered_set>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace dx {

std::string JsonError::message() const {
  return what + " at byte " + std::to_string(offset);
}

namespace {

// UTF-8 of U+D800..U+DFFF: 0xED followed by 0xA0..0xBF. RapidJSON validates the raw input but
// writes a lone "\uDC00" escape through as such bytes, so decoded strings are checked here.
bool hasSurrogate(const char* s, std::size_t n) {
  const char* end = s + n;
  for (const char* p = s; (p = static_cast<const char*>(std::memchr(p, 0xED, end - p))); ++p)
    if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xA0) return true;
  return false;
}

// Keys of one open object. Small objects scan a vector; large ones switch to a set, so a hostile
// object with 100 000 keys costs O(n), not O(n^2).
struct KeyFrame {
  std::vector<std::string> small;
  std::unordered_set<std::string> large;
  bool insert(const char* s, std::size_t n) {
    std::string_view key(s, n);
    if (large.empty()) {
      for (const std::string& k : small)
        if (k == key) return false;
      small.emplace_back(key);
      if (small.size() > 16) {
        large.insert(small.begin(), small.end());
        small.clear();
      }
      return true;
    }
    return large.emplace(key).second;
  }
};

// Forwards SAX events to the Document while enforcing depth, duplicate keys and string content.
class StrictHandler {
 public:
  StrictHandler(rapidjson::Document& doc, const rapidjson::MemoryStream& in, unsigned maxDepth)
      : doc_(doc), in_(in), maxDepth_(maxDepth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return checkString(s, n) && doc_.String(s, n, copy);
  }
  bool StartObject() {
    if (!enter()) return false;
    objects_.emplace_back();
    return doc_.StartObject();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (!checkString(s, n)) return false;
    if (!objects_.back().insert(s, n)) {
      fail("duplicate key \"" + std::string(s, n) + "\"");
      return false;
    }
    return doc_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType members) {
    objects_.pop_back();
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

  const JsonError& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > maxDepth_) {
      fail("nesting deeper than " + std::to_string(maxDepth_));
      return false;
    }
    return true;
  }
  bool checkString(const char* s, std::size_t n) {
    if (std::memchr(s, '\0', n)) return fail("NUL character in a string");
    if (hasSurrogate(s, n)) return fail("lone UTF-16 surrogate in a string");
    return true;
  }
  bool fail(std::string what) {
    error_ = {std::move(what), in_.Tell()};
    return false;
  }

  rapidjson::Document& doc_;
  const rapidjson::MemoryStream& in_;
  unsigned maxDepth_;
  unsigned depth_ = 0;
  std::vector<KeyFrame> objects_;
  JsonError error_;
};

constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

}  // namespace

JsonError parseStrict(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits) {
  doc.SetNull();
  if (text.size() > limits.maxBytes)
    return {"document larger than " + std::to_string(limits.maxBytes) + " bytes", limits.maxBytes};
  rapidjson::MemoryStream in(text.data(), text.size());
  StrictHandler handler(doc, in, limits.maxDepth);
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    result = reader.Parse<kParseFlags>(in, handler);
    return !result.IsError();
  };
  doc.Populate(generate);
  if (handler.error()) {
    doc.SetNull();
    return handler.error();
  }
  if (result.IsError()) {
    doc.SetNull();
    return {rapidjson::GetParseError_En(result.Code()), result.Offset()};
  }
  return {};
}

}  // namespace dx
