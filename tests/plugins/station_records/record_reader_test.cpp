// The export reader: RFC 4180 CSV and JSON in, checked station.record bodies out, and every bad
// row reported with where it is and why.
#include "record_reader.h"

#include <gtest/gtest.h>

#include "support.h"

namespace dx::station_records {
namespace {

using test::validator;

const char* const kHeader =
    "case_no,registered_on,category,sections,status,amount_lost,amount_frozen,amount_recovered,"
    "ncrp_ack,actions\n";

ReadResult csv(const std::string& text) {
  RecordReader reader(validator());
  return reader.read("export.csv", text, "ps.samastipur.nagar", "cc.samastipur");
}

ReadResult json(const std::string& text) {
  RecordReader reader(validator());
  return reader.read("export.json", text, "ps.samastipur.nagar", "cc.samastipur");
}

rapidjson::Document parsed(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

TEST(RecordReader, ReadsAGoodRowIntoTheCanonicalBody) {
  ReadResult r = csv(std::string(kHeader) +
                     "214/2026,2026-09-14,otp_kyc_fraud,BNS 318(4); IT Act 66D,"
                     "under_investigation,45000.00,20000.00,0.00,31509260012345,"
                     "freeze requested to SBI; call records requested\n");
  ASSERT_TRUE(r.fileError.empty()) << r.fileError;
  ASSERT_EQ(r.rows.size(), 1u);
  ASSERT_TRUE(r.rows[0].ok()) << r.rows[0].error;
  EXPECT_EQ(r.rows[0].line, 2);
  EXPECT_EQ(r.rows[0].caseNo, "214/2026");
  EXPECT_EQ(r.rows[0].body,
            R"({"case_no":"214/2026","registered_on":"2026-09-14","category":"otp_kyc_fraud",)"
            R"j("sections":["BNS 318(4)","IT Act 66D"],"status":"under_investigation",)j"
            R"("amount_lost":"45000.00","amount_frozen":"20000.00","amount_recovered":"0.00",)"
            R"("ncrp_ack":"31509260012345","actions":["freeze requested to SBI",)"
            R"("call records requested"]})");
}

TEST(RecordReader, FollowsRfc4180QuotingWithBomCrlfAndDevanagari) {
  // Columns in another order and case; a BOM; CRLF; a quoted comma, a doubled quote, a line
  // break inside quotes (the next row's line number counts it), Hindi text.
  std::string text =
      "\xEF\xBB\xBF"
      "Category,CASE_NO,registered_on,sections,status,amount_lost,amount_frozen,amount_recovered,"
      "actions\r\n"
      "upi_fraud,101/2026,2026-03-02,BNS 318(4),registered,5000.00,0.00,0.00,"
      "\"freeze requested to PNB, ₹5,000 held; the \"\"bank\"\" answered\"\r\n"
      "sim_swap,102/2026,2026-03-05,\"BNS 318(4); IT Act 66C\",closed,90000,90000,90000,"
      "\"पीड़ित का बयान दर्ज किया गया\r\nSIM विक्रेता से पूछताछ की गई\"\r\n"
      "other,103/2026,2026-03-09,IT Act 66,registered,1.5,0,0,\r\n";
  ReadResult r = csv(text);
  ASSERT_TRUE(r.fileError.empty()) << r.fileError;
  ASSERT_EQ(r.rows.size(), 3u);
  for (const ReadRow& row : r.rows) ASSERT_TRUE(row.ok()) << row.line << ": " << row.error;
  EXPECT_EQ(r.rows[0].line, 2);
  EXPECT_EQ(r.rows[1].line, 3);
  EXPECT_EQ(r.rows[2].line, 5);  // row 2 spans lines 3 and 4
  rapidjson::Document first = parsed(r.rows[0].body);
  EXPECT_STREQ(first["actions"][0].GetString(), "freeze requested to PNB, ₹5,000 held");
  EXPECT_STREQ(first["actions"][1].GetString(), "the \"bank\" answered");
  EXPECT_FALSE(first.HasMember("ncrp_ack"));  // no column: no field
  rapidjson::Document second = parsed(r.rows[1].body);
  EXPECT_EQ(second["sections"].Size(), 2u);
  EXPECT_STREQ(second["actions"][0].GetString(),
               "पीड़ित का बयान दर्ज किया गया\nSIM विक्रेता से पूछताछ की गई");
  rapidjson::Document third = parsed(r.rows[2].body);
  EXPECT_FALSE(third.HasMember("actions"));  // empty cell: no actions yet
}

TEST(RecordReader, ReportsEachBadRowWithItsLineAndTheValidatorsReasonAndKeepsTheRest) {
  std::string text = std::string(kHeader) +
                     "1/2026,2026-02-30,upi_fraud,BNS 318(4),registered,100.00,0.00,0.00,,\n"
                     "2/2026,2026-02-03,upi_fraud,BNS 318(4),registered,12.345,0.00,0.00,,\n"
                     "3/2026,2026-02-03,lottery_fraud,BNS 318(4),registered,100.00,0.00,0.00,,\n"
                     "4/2026,2026-02-03,upi_fraud,BNS 318(4),registered,100.00,0.00,0.00,,"
                     "victim shared Aadhaar 2345 6789 0124 with the caller\n"
                     "5/2026,2026-02-03,upi_fraud,BNS 318(4),registered,100.00,0.00,0.00,,"
                     "Aadhaar XXXX-XXXX-0124 seen (masked)\n"
                     "6/2026,2026-02-03,upi_fraud\n"
                     "7/2026,14/02/2026,upi_fraud,BNS 318(4),registered,100.00,0.00,0.00,,\n";
  ReadResult r = csv(text);
  ASSERT_TRUE(r.fileError.empty()) << r.fileError;
  ASSERT_EQ(r.rows.size(), 7u);
  auto expectBad = [&](std::size_t i, long line, const std::string& caseNo,
                       const std::string& reasonPart) {
    SCOPED_TRACE(caseNo);
    EXPECT_EQ(r.rows[i].line, line);
    EXPECT_EQ(r.rows[i].caseNo, caseNo);
    EXPECT_FALSE(r.rows[i].ok());
    EXPECT_NE(r.rows[i].error.find(reasonPart), std::string::npos) << r.rows[i].error;
  };
  expectBad(0, 2, "1/2026", "schema: body.registered_on");
  expectBad(1, 3, "2/2026", "schema: body.amount_lost");
  expectBad(2, 4, "3/2026", "schema: body.category");
  expectBad(3, 5, "4/2026", "pii_aadhaar: body.actions[0]");
  EXPECT_TRUE(r.rows[4].ok()) << r.rows[4].error;
  expectBad(5, 7, "", "csv: the row has 3 fields; the header has 10");
  expectBad(6, 8, "7/2026", "schema: body.registered_on");
  // The reason never repeats the Aadhaar number.
  EXPECT_EQ(r.rows[3].error.find("2345"), std::string::npos);
}

TEST(RecordReader, RefusesTheWholeFileNamingUnknownAndMissingColumns) {
  ReadResult r =
      csv("case_no,registered_on,category,sections,status,amount_lost,amount_frozn,"
          "amount_recovered,victim_name\n1/2026,2026-01-01,other,,closed,0,0,0,x\n");
  EXPECT_TRUE(r.rows.empty());
  EXPECT_NE(r.fileError.find("unknown column(s) \"amount_frozn\", \"victim_name\""),
            std::string::npos)
      << r.fileError;
  EXPECT_NE(r.fileError.find("missing required column(s) amount_frozen"), std::string::npos)
      << r.fileError;
  EXPECT_FALSE(csv("").fileError.empty());
}

TEST(RecordReader, SurvivesMalformedQuotingAndInvalidUtf8RowByRow) {
  std::string text = std::string(kHeader) +
                     "1/2026,2026-01-01,other,IT Act 66,closed,0,0,0,,\"closed\"x\n"
                     "2/2026,2026-01-01,other,IT Act 66,closed,0,0,0,,bad \xC3\x28 byte\n"
                     "3/2026,2026-01-01,other,IT Act 66,closed,0,0,0,,fine\n"
                     "4/2026,2026-01-01,other,IT Act 66,closed,0,0,0,,\"never closed\n"
                     "5/2026,2026-01-01,other,IT Act 66,closed,0,0,0,,swallowed\n";
  ReadResult r = csv(text);
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_NE(r.rows[0].error.find("after the closing quote"), std::string::npos);
  EXPECT_NE(r.rows[1].error.find("not valid UTF-8"), std::string::npos);
  EXPECT_TRUE(r.rows[2].ok()) << r.rows[2].error;
  EXPECT_EQ(r.rows[3].line, 5);
  EXPECT_NE(r.rows[3].error.find("never closed"), std::string::npos);
}

TEST(RecordReader, ReadsJsonSingleRecordsAndArraysByIndex) {
  const std::string good =
      R"({"case_no":"9/2026","registered_on":"2026-01-05","category":"job_fraud",)"
      R"j("sections":["BNS 318(4)"],"status":"registered","amount_lost":"900.00",)j"
      R"("amount_frozen":"0.00","amount_recovered":"0.00"})";
  ReadResult single = json(good);
  ASSERT_EQ(single.rows.size(), 1u);
  EXPECT_TRUE(single.rows[0].ok()) << single.rows[0].error;
  EXPECT_EQ(single.rows[0].line, 0);

  // Fields in another order come out in the canonical order (same bytes, same hash).
  ReadResult reordered =
      json(R"({"status":"registered","case_no":"9/2026","amount_frozen":"0.00",)"
           R"j("registered_on":"2026-01-05","category":"job_fraud","sections":["BNS 318(4)"],)j"
           R"("amount_lost":"900.00","amount_recovered":"0.00"})");
  ASSERT_EQ(reordered.rows.size(), 1u);
  EXPECT_EQ(reordered.rows[0].body, single.rows[0].body);

  ReadResult array = json("[" + good +
                          R"(, {"case_no":"10/2026","registered_on":"2026-01-05",)"
                          R"("category":"job_fraud","sections":[],"status":"registered",)"
                          R"("amount_lost":900,"amount_frozen":"0.00","amount_recovered":"0.00"},)"
                          R"( "text", {"case_no":"11/2026","victim":"x"}])");
  ASSERT_EQ(array.rows.size(), 4u);
  EXPECT_TRUE(array.rows[0].ok());
  EXPECT_EQ(array.rows[1].line, 1);
  EXPECT_NE(array.rows[1].error.find("body.amount_lost"), std::string::npos) << array.rows[1].error;
  EXPECT_NE(array.rows[2].error.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(array.rows[3].caseNo, "11/2026");
  EXPECT_FALSE(array.rows[3].ok());

  EXPECT_NE(json("[{\"case_no\":1,").fileError.find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(json("\"just text\"").fileError.empty());
}

TEST(RecordReader, TheDocumentedSampleFileIsAllGood) {
  std::string text = test::readText(DX_SOURCE_DIR "/sim/samples/station_records_sample.csv");
  ReadResult r = csv(text);
  ASSERT_TRUE(r.fileError.empty()) << r.fileError;
  ASSERT_EQ(r.rows.size(), 6u);
  std::set<std::string> categories;
  for (const ReadRow& row : r.rows) {
    EXPECT_TRUE(row.ok()) << row.line << ": " << row.error;
    categories.insert(parsed(row.body)["category"].GetString());
  }
  EXPECT_EQ(categories.size(), 6u);
}

}  // namespace
}  // namespace dx::station_records
