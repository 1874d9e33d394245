// GET /v1/reports/cyber-crime and `dxhub notice draft` against the real `dxhub serve`: stations
// post signed station.records over mutual TLS, the SP office reads the graph in all three formats
// and drafts its awareness notice from the same store.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "clock.h"
#include "config.h"
#include "hub_process.h"
#include "jws.h"

namespace dx::test {
namespace {

// A station.record signed by `station` for the cyber cell, `created` seconds ago.
std::string stationRecord(const std::string& station, const std::string& caseNo,
                          const std::string& day, const std::string& category,
                          const std::string& status, const std::string& lost,
                          const std::string& frozen, int secondsAgo = 0) {
  Signer signer =
      Signer::fromFiles(testPki() + "/" + station + ".key", testPki() + "/" + station + ".crt");
  std::string created = formatRfc3339(SystemClock::instance().unixSeconds() - secondsAgo);
  return signer.sign(
      R"({"id":")" + newUuid() + R"(","type":"station.record","from":")" + station +
      R"(","to":"cc.samastipur","created":")" + created + R"(","body":{"case_no":")" + caseNo +
      R"(","registered_on":")" + day + R"(","category":")" + category +
      R"x(","sections":["BNS 318(4)","IT Act 66D"],"status":")x" + status + R"(","amount_lost":")" +
      lost + R"(","amount_frozen":")" + frozen + R"(","amount_recovered":"0.00"}})");
}

bool isProblem(const Response& r, int status, const std::string& code) {
  return r.status == status && r.contentType() == "application/problem+json" &&
         r.body.find("\"code\":\"" + code + "\"") != std::string::npos;
}

class CyberCrimeReport : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.start();
    Client nagar = Client::as(hub_.port(), "ps.samastipur.nagar");
    Client rosera = Client::as(hub_.port(), "ps.samastipur.rosera");
    // Nagar files case 11 and then again after freezing money: the second supersedes the first.
    for (const auto& [client, jws] : std::vector<std::pair<Client*, std::string>>{
             {&nagar, stationRecord("ps.samastipur.nagar", "11/2026", "2026-09-04", "upi_fraud",
                                    "registered", "45000.00", "0.00", 60)},
             {&nagar, stationRecord("ps.samastipur.nagar", "12/2026", "2026-10-15", "otp_kyc_fraud",
                                    "registered", "20000.00", "0.00")},
             {&rosera, stationRecord("ps.samastipur.rosera", "7/2026", "2026-10-02", "upi_fraud",
                                     "chargesheeted", "1500.50", "1500.50")},
             {&rosera, stationRecord("ps.samastipur.rosera", "3/2026", "2026-06-30", "sim_swap",
                                     "registered", "99.00", "0.00")},  // outside the period
             {&nagar, stationRecord("ps.samastipur.nagar", "11/2026", "2026-09-04", "upi_fraud",
                                    "under_investigation", "45000.00", "18500.00")},
         }) {
      Response r = client->post("/v1/messages", jws);
      ASSERT_EQ(r.status, 202) << r;
    }
  }

  Response get(const std::string& as, const std::string& query) {
    return Client::as(hub_.port(), as).get("/v1/reports/cyber-crime" + query);
  }

  HubProcess hub_;
};

TEST_F(CyberCrimeReport, TheSpOfficeReadsTheGraphAsJsonCsvAndSvg) {
  Response json = get("sp.samastipur", "?from=2026-09&to=2026-10&format=json");
  ASSERT_EQ(json.status, 200) << json;
  EXPECT_EQ(json.contentType(), "application/json");
  rapidjson::Document doc;
  doc.Parse(json.body.c_str(), json.body.size());
  ASSERT_TRUE(doc.IsObject()) << json.body;
  EXPECT_EQ(doc["stations"].Size(), 5u);  // every station of the config
  EXPECT_EQ(doc["total"]["cases"].GetInt(), 3);
  EXPECT_STREQ(doc["total"]["amount_lost"].GetString(), "66500.50");
  EXPECT_STREQ(doc["total"]["amount_frozen"].GetString(), "20000.50");  // 18500 + 1500.50
  EXPECT_EQ(doc["total"]["status"]["under_investigation"].GetInt(), 1);
  EXPECT_STREQ(doc["stations"][0]["name_hi"].GetString(), "समस्तीपुर नगर");

  Response csv = get("cc.samastipur", "?from=2026-09&to=2026-10&format=csv");
  ASSERT_EQ(csv.status, 200) << csv;
  EXPECT_EQ(csv.contentType(), "text/csv; charset=utf-8");
  std::istringstream lines(csv.body);
  std::string line;
  int rows = 0;
  bool nagarSeptember = false;
  while (std::getline(lines, line)) {
    ++rows;
    nagarSeptember =
        nagarSeptember || line.rfind(
                              "ps.samastipur.nagar,Samastipur Nagar,समस्तीपुर नगर,2026-09,"
                              "upi_fraud,1,45000.00,18500.00,0.00,0,1,0,0\r",
                              0) == 0;
  }
  EXPECT_EQ(rows, 1 + 5 * 2 * 9);  // header, then station × month × category
  EXPECT_TRUE(nagarSeptember) << csv.body.substr(0, 600);

  Response svg = get("sp.samastipur", "?from=2026-09&to=2026-10&format=svg");
  ASSERT_EQ(svg.status, 200) << svg;
  EXPECT_EQ(svg.contentType(), "image/svg+xml");
  Poco::XML::DOMParser parser;
  Poco::AutoPtr<Poco::XML::Document> dom;
  ASSERT_NO_THROW(dom = parser.parseString(svg.body));
  std::set<std::string> bars;
  Poco::AutoPtr<Poco::XML::NodeList> rects = dom->getElementsByTagName("rect");
  for (unsigned long i = 0; i < rects->length(); ++i) {
    auto* e = static_cast<Poco::XML::Element*>(rects->item(i));
    if (e->getAttribute("class") == "bar")
      bars.insert(e->getAttribute("data-station") + " " + e->getAttribute("data-category") + " " +
                  e->getAttribute("data-cases"));
  }
  EXPECT_EQ(bars, (std::set<std::string>{"ps.samastipur.nagar upi_fraud 1",
                                         "ps.samastipur.nagar otp_kyc_fraud 1",
                                         "ps.samastipur.rosera upi_fraud 1"}));
  EXPECT_NE(svg.body.find("समस्तीपुर जिला"), std::string::npos);
}

TEST_F(CyberCrimeReport, OnlyTheCyberCellSpOfficeAndHubMayAskAndBadQueriesAreRefused) {
  EXPECT_TRUE(isProblem(get("ps.samastipur.nagar", ""), 403, "forbidden"));
  EXPECT_TRUE(isProblem(get("bank.sbi", ""), 403, "forbidden"));
  EXPECT_TRUE(isProblem(get("dm.samastipur", ""), 403, "forbidden"));
  Response anonymous = Client::anonymous(hub_.port()).get("/v1/reports/cyber-crime");
  EXPECT_TRUE(isProblem(anonymous, 401, "unauthenticated")) << anonymous;

  Response byDefault = get("cc.samastipur", "");  // the last six months, as JSON
  ASSERT_EQ(byDefault.status, 200) << byDefault;
  EXPECT_EQ(byDefault.contentType(), "application/json");

  for (const char* query :
       {"?format=pdf", "?from=2026-13", "?to=2026-1", "?from=2026-10&to=2026-09",
        "?from=2020-01&to=2026-10", "?station=ps.samastipur.nagar"})
    EXPECT_TRUE(isProblem(get("sp.samastipur", query), 400, "bad_query")) << query;
  Response post = Client::as(hub_.port(), "sp.samastipur").post("/v1/reports/cyber-crime", "{}");
  EXPECT_TRUE(isProblem(post, 405, "method_not_allowed")) << post;
}

TEST_F(CyberCrimeReport, NoticeDraftWritesAValidBilingualBodyFromTheStore) {
  const std::string out = hub_.dir() + "/notice.json";
  CommandResult draft = hub_.runCommand(
      {"notice", "draft", "--config", hub_.configPath(), "--period", "2026-10", "--out", out});
  ASSERT_EQ(draft.exitCode, 0) << draft.output;
  std::string body = readFile(out);
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  ASSERT_TRUE(doc.IsObject()) << body;
  EXPECT_STREQ(doc["letter_no"].GetString(), "SP/CC/2026-10/1");
  std::string en = doc["text"]["en"].GetString(), hi = doc["text"]["hi"].GetString();
  EXPECT_NE(en.find("2 cases"), std::string::npos) << en;
  EXPECT_NE(hi.find("2 मामले"), std::string::npos) << hi;
  EXPECT_NE(hi.find("आधार"), std::string::npos);

  // Signed by the SP office, the draft passes the hub's own checks and is accepted.
  CommandResult signedNotice =
      hub_.runCommand({"sign", "--key", testPki() + "/sp.samastipur.key", "--cert",
                       testPki() + "/sp.samastipur.crt", "--type", "notice.awareness", "--to",
                       "dm.samastipur", out});
  ASSERT_EQ(signedNotice.exitCode, 0) << signedNotice.output;
  Response sent =
      Client::as(hub_.port(), "sp.samastipur").post("/v1/messages", signedNotice.output);
  EXPECT_EQ(sent.status, 202) << sent;

  CommandResult bad =
      hub_.runCommand({"notice", "draft", "--config", hub_.configPath(), "--period", "October"});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.output.find("--period must be a month written YYYY-MM"), std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace dx::test
