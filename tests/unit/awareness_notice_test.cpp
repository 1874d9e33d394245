// The awareness notice drafted from a month's graph: a valid notice.awareness body, in Hindi and
// English, that names the month's commonest frauds and busiest stations and carries the warning.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "awareness_notice.h"
#include "message_validator.h"
#include "money.h"
#include "strict_json.h"
#include "test_support.h"

namespace dx {
namespace {

HubConfig districtConfig() {
  HubConfig c;
  c.hubId = "hub.samastipur";
  c.district = "Samastipur";
  c.districtHi = "समस्तीपुर";
  c.participants = {
      test::participantConfig("ps.samastipur.nagar", "station", "Samastipur Nagar", "समस्तीपुर नगर"),
      test::participantConfig("ps.samastipur.rosera", "station", "Rosera", "रोसड़ा"),
      test::participantConfig("ps.samastipur.kalyanpur", "station", "Kalyanpur", "कल्याणपुर"),
      test::participantConfig("ps.samastipur.dalsinghsarai", "station", "Dalsinghsarai",
                              "दलसिंहसराय"),
  };
  return c;
}

// October 2026: Rosera 3 cases, Nagar 2, Kalyanpur 1, Dalsinghsarai none; OTP/KYC fraud 3, UPI
// fraud 2, job fraud 1; and a September case that is not October's.
std::vector<StationRecord> octoberRecords() {
  std::vector<StationRecord> out;
  int n = 0;
  auto add = [&](const std::string& station, const std::string& day, const std::string& category,
                 const std::string& lost) {
    ++n;
    out.push_back({station, std::to_string(n) + "/2026", day, category, "registered",
                   *parseMoney(lost), 0, 0, 1790000000, n});
  };
  add("ps.samastipur.rosera", "2026-10-02", "otp_kyc_fraud", "20000");
  add("ps.samastipur.rosera", "2026-10-09", "otp_kyc_fraud", "15000");
  add("ps.samastipur.rosera", "2026-10-19", "upi_fraud", "5000");
  add("ps.samastipur.nagar", "2026-10-20", "otp_kyc_fraud", "100000");
  add("ps.samastipur.nagar", "2026-10-21", "upi_fraud", "2500.50");
  add("ps.samastipur.kalyanpur", "2026-10-30", "job_fraud", "8000");
  add("ps.samastipur.kalyanpur", "2026-09-30", "sim_swap", "999999");
  return out;
}

class AwarenessNoticeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    validator_ = new MessageValidator(std::string(DX_SOURCE_DIR) + "/config/schemas");
  }
  static void TearDownTestSuite() { delete validator_; }

  // The body as the SP office would sign it, checked as the hub will check it.
  static std::optional<Problem> validate(const std::string& body) {
    std::string text = test::envelope("notice.awareness", "sp.samastipur", "dm.samastipur", body);
    rapidjson::Document envelope;
    if (JsonError e = parseStrict(text, envelope)) return Problem{"malformed", e.message()};
    return validator_->validate(envelope);
  }

  static MessageValidator* validator_;
};
MessageValidator* AwarenessNoticeTest::validator_ = nullptr;

std::string member(const rapidjson::Value& v, const char* a, const char* b) {
  return v[a][b].GetString();
}

TEST_F(AwarenessNoticeTest, IsAValidBilingualNoticeNamingTopFraudsAndStations) {
  CrimeReport report =
      buildCrimeReport(districtConfig(), octoberRecords(), {{2026, 10}, {2026, 10}});
  std::string body = draftAwarenessNotice(report, {"SP/CC/2026-10/1", "2026-11-14"});
  std::optional<Problem> problem = validate(body);
  EXPECT_FALSE(problem) << problem->code << ": " << problem->detail << "\n" << body;

  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["letter_no"].GetString(), "SP/CC/2026-10/1");
  EXPECT_STREQ(doc["respond_by"].GetString(), "2026-11-14");
  const std::string en = member(doc, "text", "en"), hi = member(doc, "text", "hi");
  EXPECT_NE(member(doc, "subject", "en").find("October 2026"), std::string::npos);
  EXPECT_NE(member(doc, "subject", "hi").find("अक्टूबर 2026"), std::string::npos);

  // The month's figures (the September case is not October's).
  EXPECT_NE(en.find("6 cases"), std::string::npos) << en;
  EXPECT_NE(en.find("₹1,50,500.50"), std::string::npos) << en;
  EXPECT_NE(hi.find("6 मामले"), std::string::npos) << hi;
  EXPECT_NE(en.find("none of it has been frozen or returned yet"), std::string::npos) << en;
  // Commonest frauds and busiest stations, most first, in each language.
  EXPECT_NE(en.find("OTP/KYC fraud (3 cases), UPI fraud (2 cases) and Job fraud (1 case)"),
            std::string::npos)
      << en;
  EXPECT_NE(en.find("Rosera (3), Samastipur Nagar (2) and Kalyanpur (1)"), std::string::npos) << en;
  EXPECT_NE(hi.find("ओटीपी/केवाईसी धोखाधड़ी (3 मामले)"), std::string::npos) << hi;
  EXPECT_NE(hi.find("रोसड़ा (3), समस्तीपुर नगर (2) और कल्याणपुर (1)"), std::string::npos) << hi;
  EXPECT_EQ(en.find("Dalsinghsarai"), std::string::npos);  // no cases: not among the top
  // The warning, in both languages.
  for (const char* words : {"Never share", "Aadhaar", "OTP", "1930", "cybercrime.gov.in"})
    EXPECT_NE(en.find(words), std::string::npos) << words;
  for (const char* words : {"कभी साझा न करें", "आधार", "ओटीपी", "1930", "cybercrime.gov.in"})
    EXPECT_NE(hi.find(words), std::string::npos) << words;

  // Every station's area, busiest first, Dalsinghsarai too.
  ASSERT_EQ(doc["areas"].Size(), 4u);
  EXPECT_STREQ(doc["areas"][0].GetString(), "रोसड़ा (Rosera)");
  EXPECT_STREQ(doc["areas"][3].GetString(), "दलसिंहसराय (Dalsinghsarai)");
  EXPECT_GE(doc["channels"].Size(), 5u);
}

TEST_F(AwarenessNoticeTest, AMonthWithoutCasesStillGivesAValidWarning) {
  CrimeReport report = buildCrimeReport(districtConfig(), {}, {{2026, 1}, {2026, 1}});
  std::string body = draftAwarenessNotice(report, {"SP/CC/2026-01/3", ""});
  std::optional<Problem> problem = validate(body);
  EXPECT_FALSE(problem) << problem->code << ": " << problem->detail << "\n" << body;
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  EXPECT_FALSE(doc.HasMember("respond_by"));
  EXPECT_NE(member(doc, "text", "en").find("no cyber-crime case"), std::string::npos);
  EXPECT_NE(member(doc, "text", "hi").find("कोई मामला दर्ज नहीं"), std::string::npos);
  EXPECT_NE(member(doc, "text", "hi").find("1930"), std::string::npos);
}

}  // namespace
}  // namespace dx
