#include <gtest/gtest.h>

#include "base64url.h"
#include "strict_json.h"

namespace dx {
namespace {

JsonError parse(std::string_view text, JsonLimits limits = {}) {
  rapidjson::Document doc;
  return parseStrict(text, doc, limits);
}

TEST(StrictJson, AcceptsAnOrdinaryDocument) {
  rapidjson::Document doc;
  ASSERT_FALSE(parseStrict(R"({"a":[1,2,{"b":"समस्तीपुर"}],"c":null})", doc));
  EXPECT_STREQ(doc["a"][2]["b"].GetString(), "समस्तीपुर");
}

TEST(StrictJson, RefusesDuplicateKeysWithTheirOffset) {
  JsonError e = parse(R"({"amount":"1.00","amount":"9.00"})");
  ASSERT_TRUE(e);
  EXPECT_NE(e.what.find("duplicate key \"amount\""), std::string::npos);
  EXPECT_GT(e.offset, 16u);
}

TEST(StrictJson, RefusesDuplicateKeysInLargeObjects) {
  std::string text = "{";
  for (int i = 0; i < 200; ++i) text += "\"k" + std::to_string(i) + "\":1,";
  text += "\"k7\":2}";
  EXPECT_NE(parse(text).what.find("duplicate key \"k7\""), std::string::npos);
}

TEST(StrictJson, SameKeyInSiblingObjectsIsFine) {
  EXPECT_FALSE(parse(R"([{"a":1},{"a":2}])"));
}

TEST(StrictJson, RefusesInvalidUtf8) {
  EXPECT_TRUE(parse("{\"a\":\"\xC3\x28\"}"));
  EXPECT_TRUE(parse("{\"a\":\"\xED\xA0\x80\"}"));  // raw surrogate bytes
}

TEST(StrictJson, RefusesLoneSurrogateEscapes) {
  EXPECT_TRUE(parse(R"({"a":"\uD800"})"));
  EXPECT_TRUE(parse(R"({"a":"\uDC00"})"));
  EXPECT_FALSE(parse(R"({"a":"\uD83D\uDE00"})"));  // a proper pair is fine
}

TEST(StrictJson, RefusesNul) {
  EXPECT_TRUE(parse(R"({"a":"x\u0000y"})"));
  EXPECT_TRUE(parse(std::string("{\"a\":\"x\0y\"}", 11)));
}

TEST(StrictJson, RefusesDeepNestingWithoutRecursing) {
  std::string deep(100000, '[');
  JsonError e = parse(deep);
  ASSERT_TRUE(e);
  EXPECT_NE(e.what.find("nesting deeper than 32"), std::string::npos);
  EXPECT_EQ(e.offset, 32u);  // the 33rd "[" is byte 32
  std::string million(1000000, '[');
  EXPECT_TRUE(parse(million, {2 << 20, 32}));
}

TEST(StrictJson, RefusesOversizedInputBeforeParsing) {
  std::string big = "\"" + std::string(2000, 'x') + "\"";
  JsonError e = parse(big, {1024, 8});
  ASSERT_TRUE(e);
  EXPECT_NE(e.what.find("larger than 1024"), std::string::npos);
}

TEST(StrictJson, RefusesTrailingContentAndHugeNumbers) {
  EXPECT_TRUE(parse(R"({"a":1} {"b":2})"));
  EXPECT_TRUE(parse(R"({"a":1e400})"));
  EXPECT_TRUE(parse(""));
  EXPECT_TRUE(parse("{\"a\":1,}"));
}

TEST(StrictJson, ErrorMessageNamesTheOffset) {
  JsonError e = parse(R"({"a":tru})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.message(), e.what + " at byte " + std::to_string(e.offset));
}

TEST(Base64url, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    auto decoded = base64urlDecode(base64urlEncode(bytes));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(n * 37);
  }
  EXPECT_EQ(base64urlEncode("\xfb\xff"), "-_8");
}

TEST(Base64url, RefusesPaddingForeignCharactersAndNonCanonicalBits) {
  EXPECT_FALSE(base64urlDecode("eyJ="));
  EXPECT_FALSE(base64urlDecode("ey+/"));
  EXPECT_FALSE(base64urlDecode("e"));
  EXPECT_FALSE(base64urlDecode("QR"));  // "A" is QQ; QR has trailing bits set
  EXPECT_TRUE(base64urlDecode("QQ"));
}

}  // namespace
}  // namespace dx
