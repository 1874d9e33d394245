// The cyber-crime graph: aggregation of station records against a hand-computed fixture, the
// period rules, and the JSON, CSV and SVG answers.
#include <filesystem>

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "crime_report.h"
#include "crime_report_formats.h"
#include "money.h"
#include "store.h"
#include "test_support.h"

namespace dx {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kT0 = 1785000000;  // 2026-07-25, when the first records were filed

HubConfig fixtureConfig() {
  HubConfig c;
  c.hubId = "hub.samastipur";
  c.district = "Samastipur";
  c.districtHi = "समस्तीपुर";
  c.participants = {
      test::participantConfig("cc.samastipur", "cyber_cell", "District Cyber Cell", ""),
      test::participantConfig("ps.samastipur.nagar", "station", "Samastipur Nagar", "समस्तीपुर नगर"),
      test::participantConfig("ps.samastipur.rosera", "station", "Rosera", "रोसड़ा"),
      test::participantConfig("ps.samastipur.kalyanpur", "station", "Kalyanpur", "कल्याणपुर"),
  };
  return c;
}

StationRecord rec(const std::string& station, const std::string& caseNo, const std::string& day,
                  const std::string& category, const std::string& status, const std::string& lost,
                  const std::string& frozen, const std::string& recovered, std::int64_t created,
                  std::int64_t seq) {
  return {station,
          caseNo,
          day,
          category,
          status,
          *parseMoney(lost),
          *parseMoney(frozen),
          *parseMoney(recovered),
          created,
          seq};
}

// Nagar's case 101 filed twice (the second, a day later, supersedes the first); case 104 filed
// twice with the newer `created` accepted first (created decides, not seq); Rosera has a case
// numbered like Nagar's (another station: another case) and two outside the period.
std::vector<StationRecord> fixtureRecords() {
  const std::string nagar = "ps.samastipur.nagar", rosera = "ps.samastipur.rosera";
  return {
      rec(nagar, "101/2026", "2026-08-03", "upi_fraud", "registered", "1000.50", "0", "0", kT0, 1),
      rec(nagar, "102/2026", "2026-08-20", "upi_fraud", "closed", "2500", "2500.00", "2500", kT0,
          2),
      rec(nagar, "103/2026", "2026-10-01", "job_fraud", "chargesheeted", "12000.05", "0", "100",
          kT0, 3),
      rec(rosera, "101/2026", "2026-09-30", "otp_kyc_fraud", "registered", "75000", "30000", "0",
          kT0, 4),
      rec(nagar, "101/2026", "2026-08-03", "upi_fraud", "under_investigation", "1000.50", "400.25",
          "0", kT0 + kDay, 5),
      rec(rosera, "090/2026", "2026-07-31", "upi_fraud", "registered", "9999", "0", "0", kT0, 6),
      rec(rosera, "140/2026", "2026-11-01", "sim_swap", "registered", "8888", "0", "0", kT0, 7),
      rec(nagar, "104/2026", "2026-09-12", "sim_swap", "registered", "5000", "0", "0", kT0 + 200,
          8),
      rec(nagar, "104/2026", "2026-07-02", "other", "closed", "1", "0", "0", kT0 + 100, 9),
  };
}

const ReportPeriod kAugToOct{{2026, 8}, {2026, 10}};

std::size_t categoryIndex(const std::string& id) {
  for (std::size_t c = 0; c < crimeCategories().size(); ++c)
    if (id == crimeCategories()[c].id) return c;
  throw std::runtime_error("no category " + id);
}

TEST(CrimeReport, NewestRecordOfEachStationCaseWinsByCreatedThenSeq) {
  std::vector<StationRecord> latest = latestRecords(fixtureRecords());
  ASSERT_EQ(latest.size(), 7u);  // 9 records, 2 superseded
  std::map<std::pair<std::string, std::string>, StationRecord> byCase;
  for (const StationRecord& r : latest) byCase[{r.station, r.caseNo}] = r;
  auto of = [&](const char* station, const char* caseNo) { return byCase[{station, caseNo}]; };
  EXPECT_EQ(of("ps.samastipur.nagar", "101/2026").status, "under_investigation");
  EXPECT_EQ(of("ps.samastipur.nagar", "104/2026").category, "sim_swap");
  EXPECT_EQ(of("ps.samastipur.rosera", "101/2026").category, "otp_kyc_fraud");

  // Same `created`: the one the hub accepted later wins.
  std::vector<StationRecord> tie =
      latestRecords({rec("s", "1", "2026-08-01", "other", "closed", "0", "0", "0", kT0, 3),
                     rec("s", "1", "2026-08-01", "other", "registered", "0", "0", "0", kT0, 2)});
  ASSERT_EQ(tie.size(), 1u);
  EXPECT_EQ(tie[0].status, "closed");
}

TEST(CrimeReport, AddsUpPerStationCategoryAndMonthAsComputedByHand) {
  CrimeReport r = buildCrimeReport(fixtureConfig(), latestRecords(fixtureRecords()), kAugToOct);
  ASSERT_EQ(r.months.size(), 3u);
  ASSERT_EQ(r.stations.size(), 3u);  // every station of the config, Kalyanpur without cases too
  EXPECT_EQ(r.stations[2].id, "ps.samastipur.kalyanpur");
  EXPECT_EQ(r.stations[2].nameHi, "कल्याणपुर");
  EXPECT_EQ(r.stationTotal(2).cases, 0);

  // Nagar, UPI fraud, August: case 101 (its newer record) and case 102.
  const Tally& upi = r.cell(0, categoryIndex("upi_fraud"), 0);
  EXPECT_EQ(upi.cases, 2);
  EXPECT_EQ(upi.lost, 350050);       // 1000.50 + 2500.00
  EXPECT_EQ(upi.frozen, 290025);     // 400.25 + 2500.00
  EXPECT_EQ(upi.recovered, 250000);  // 0 + 2500.00
  EXPECT_EQ(upi.byStatus, (std::array<int, 4>{0, 1, 0, 1}));
  // Nagar, SIM swap, September: case 104's newer record (moved in from July's "other").
  EXPECT_EQ(r.cell(0, categoryIndex("sim_swap"), 1).cases, 1);
  EXPECT_EQ(r.cell(0, categoryIndex("other"), 0).cases, 0);
  // Nagar, job fraud, October.
  const Tally& job = r.cell(0, categoryIndex("job_fraud"), 2);
  EXPECT_EQ(job.cases, 1);
  EXPECT_EQ(job.lost, 1200005);
  EXPECT_EQ(job.recovered, 10000);
  EXPECT_EQ(job.byStatus, (std::array<int, 4>{0, 0, 1, 0}));
  // Rosera: only its September case; July's and November's are outside the period.
  EXPECT_EQ(r.stationTotal(1).cases, 1);
  EXPECT_EQ(r.cell(1, categoryIndex("otp_kyc_fraud"), 1).frozen, 3000000);

  const Tally total = r.total();
  EXPECT_EQ(total.cases, 5);
  EXPECT_EQ(total.lost, 350050 + 1200005 + 500000 + 7500000);
  EXPECT_EQ(total.frozen, 290025 + 3000000);
  EXPECT_EQ(total.recovered, 250000 + 10000);
  EXPECT_EQ(r.monthTotal(0).cases, 2);
  EXPECT_EQ(r.monthTotal(1).cases, 2);
  EXPECT_EQ(r.monthTotal(2).cases, 1);
  EXPECT_EQ(r.categoryTotal(categoryIndex("upi_fraud")).cases, 2);
}

TEST(CrimeReport, RecordsOfAStationNotInTheConfigStillCount) {
  std::vector<StationRecord> records = {rec("ps.samastipur.old", "1/2026", "2026-09-01", "other",
                                            "registered", "10", "0", "0", kT0, 1)};
  CrimeReport r = buildCrimeReport(fixtureConfig(), records, kAugToOct);
  ASSERT_EQ(r.stations.size(), 4u);
  EXPECT_EQ(r.stations[3].id, "ps.samastipur.old");
  EXPECT_EQ(r.stations[3].name, "ps.samastipur.old");
  EXPECT_EQ(r.total().cases, 1);
}

TEST(CrimeReportPeriod, DefaultsToTheSixMonthsUpToTheCurrentMonthInIndia) {
  // 20:00 UTC on 31 October is already 1 November in India.
  ManualClock clock{TimePoint(std::chrono::seconds(*parseRfc3339("2026-10-31T20:00:00Z")))};
  Expected<ReportPeriod> p = reportPeriod("", "", clock);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->from.text(), "2026-06");
  EXPECT_EQ(p->to.text(), "2026-11");
  Expected<ReportPeriod> fromOnly = reportPeriod("2025-12", "", clock);
  ASSERT_TRUE(fromOnly);
  EXPECT_EQ(fromOnly->months().size(), 12u);
  Expected<ReportPeriod> toOnly = reportPeriod("", "2026-02", clock);
  ASSERT_TRUE(toOnly);
  EXPECT_EQ(toOnly->from.text(), "2025-09");
}

TEST(CrimeReportPeriod, RefusesBadMonthsReversedAndTooLongPeriods) {
  ManualClock clock{TimePoint(std::chrono::seconds(kT0))};
  for (auto [from, to] : std::vector<std::pair<const char*, const char*>>{{"2026-13", "2026-12"},
                                                                          {"2026-1", ""},
                                                                          {"", "2026/10"},
                                                                          {"2026-10-01", ""},
                                                                          {"26-10", ""},
                                                                          {"2026-11", "2026-10"},
                                                                          {"2020-01", "2026-10"}}) {
    Expected<ReportPeriod> p = reportPeriod(from, to, clock);
    ASSERT_FALSE(p) << from << ".." << to;
    EXPECT_EQ(p.problem().code, "bad_query");
    EXPECT_EQ(problemStatus(p.problem().code), 400);
  }
}

TEST(CrimeReport, ReadsTheStationRecordsTheHubStored) {
  std::string db = Poco::TemporaryFile::tempName() + ".db";
  Poco::TemporaryFile::registerForDeletion(db);
  std::unique_ptr<Store> store = openStore("sqlite:" + db);
  Signer nagar = test::signer("ps.samastipur.nagar");
  auto body = [](const std::string& status, const std::string& frozen) {
    return R"({"case_no":"214/2026","registered_on":"2026-09-05","category":"upi_fraud",)"
           R"x("sections":["BNS 318(4)"],"status":")x" +
           status + R"(","amount_lost":"45000.00","amount_frozen":")" + frozen +
           R"(","amount_recovered":"0.00"})";
  };
  std::int64_t seq = 0;
  auto put = [&](const std::string& type, const std::string& jsonBody, std::int64_t created) {
    MessageRecord m;
    m.seq = ++seq;
    m.id = newUuid();
    m.type = type;
    m.from = "ps.samastipur.nagar";
    m.to = "cc.samastipur";
    m.created = formatRfc3339(created);
    m.acceptedAt = m.created;
    m.digest = "00";
    m.state = "delivered";
    m.jws = nagar.sign(R"({"id":")" + m.id + R"(","type":")" + type +
                       R"(","from":"ps.samastipur.nagar","to":"cc.samastipur","created":")" +
                       m.created + R"(","body":)" + jsonBody + "}");
    store->begin();
    store->insertMessage(m);
    store->commit();
  };
  put("station.record", body("registered", "0.00"), kT0);
  put("notice.ack", R"({"status":"received"})", kT0);  // another type: not a record
  put("station.record", body("under_investigation", "18500.00"), kT0 + kDay);

  std::vector<StationRecord> latest = latestStationRecords(*store);
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].status, "under_investigation");
  EXPECT_EQ(latest[0].frozen, 1850000);
  EXPECT_EQ(latest[0].lost, 4500000);
  EXPECT_EQ(latest[0].registeredOn, "2026-09-05");
  EXPECT_EQ(latest[0].seq, 3);
}

TEST(CrimeReportCsv, IsTheExactTableForTheFixture) {
  HubConfig config = fixtureConfig();
  config.participants.resize(3);                     // Nagar and Rosera
  config.participants[2].name = "Rosera, \"east\"";  // quoted as RFC 4180 says
  CrimeReport r = buildCrimeReport(config, latestRecords(fixtureRecords()), {{2026, 9}, {2026, 9}});
  const std::string zeros = ",0,0.00,0.00,0.00,0,0,0,0\r\n";
  const std::string nagar = "ps.samastipur.nagar,Samastipur Nagar,समस्तीपुर नगर,2026-09,";
  const std::string rosera = "ps.samastipur.rosera,\"Rosera, \"\"east\"\"\",रोसड़ा,2026-09,";
  std::string expected =
      "\xEF\xBB\xBFstation,station_name,station_name_hi,month,category,cases,amount_lost,"
      "amount_frozen,amount_recovered,registered,under_investigation,chargesheeted,closed\r\n";
  expected += nagar + "upi_fraud" + zeros + nagar + "otp_kyc_fraud" + zeros + nagar +
              "sim_swap,1,5000.00,0.00,0.00,1,0,0,0\r\n" + nagar + "sextortion" + zeros + nagar +
              "job_fraud" + zeros + nagar + "investment_fraud" + zeros + nagar + "loan_app" +
              zeros + nagar + "identity_theft" + zeros + nagar + "other" + zeros;
  expected += rosera + "upi_fraud" + zeros + rosera +
              "otp_kyc_fraud,1,75000.00,30000.00,0.00,1,0,0,0\r\n" + rosera + "sim_swap" + zeros +
              rosera + "sextortion" + zeros + rosera + "job_fraud" + zeros + rosera +
              "investment_fraud" + zeros + rosera + "loan_app" + zeros + rosera + "identity_theft" +
              zeros + rosera + "other" + zeros;
  EXPECT_EQ(crimeReportCsv(r), expected);
}

TEST(CrimeReportJson, CarriesTheCellsTotalsAndNamesInBothLanguages) {
  CrimeReport r = buildCrimeReport(fixtureConfig(), latestRecords(fixtureRecords()), kAugToOct);
  std::string text = crimeReportJson(r);
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  ASSERT_TRUE(doc.IsObject()) << text;
  EXPECT_STREQ(doc["from"].GetString(), "2026-08");
  EXPECT_STREQ(doc["to"].GetString(), "2026-10");
  EXPECT_STREQ(doc["district_hi"].GetString(), "समस्तीपुर");
  ASSERT_EQ(doc["stations"].Size(), 3u);
  const rapidjson::Value& nagar = doc["stations"][0];
  EXPECT_STREQ(nagar["name_hi"].GetString(), "समस्तीपुर नगर");
  EXPECT_EQ(nagar["cases"].GetInt(), 4);
  ASSERT_EQ(nagar["cells"].Size(), 3u);  // only cells with cases
  const rapidjson::Value& upi = nagar["cells"][0];
  EXPECT_STREQ(upi["category"].GetString(), "upi_fraud");
  EXPECT_STREQ(upi["month"].GetString(), "2026-08");
  EXPECT_EQ(upi["cases"].GetInt(), 2);
  EXPECT_STREQ(upi["amount_lost"].GetString(), "3500.50");
  EXPECT_STREQ(upi["amount_frozen"].GetString(), "2900.25");
  EXPECT_EQ(upi["status"]["under_investigation"].GetInt(), 1);
  EXPECT_EQ(doc["stations"][2]["cases"].GetInt(), 0);
  EXPECT_EQ(doc["by_month"][1]["cases"].GetInt(), 2);
  EXPECT_STREQ(doc["total"]["amount_lost"].GetString(), "95500.55");
  EXPECT_EQ(doc["categories"].Size(), 9u);
}

// ---------------------------------------------------------------- SVG

std::vector<Poco::XML::Element*> elements(Poco::XML::Document& doc, const std::string& tag,
                                          const std::string& cls = {}) {
  std::vector<Poco::XML::Element*> out;
  Poco::AutoPtr<Poco::XML::NodeList> list = doc.getElementsByTagName(tag);
  for (unsigned long i = 0; i < list->length(); ++i) {
    auto* e = static_cast<Poco::XML::Element*>(list->item(i));
    if (cls.empty() || e->getAttribute("class") == cls) out.push_back(e);
  }
  return out;
}

Poco::AutoPtr<Poco::XML::Document> parseSvg(const std::string& svg) {
  Poco::XML::DOMParser parser;
  return parser.parseString(svg);  // throws on XML that is not well-formed
}

TEST(CrimeReportSvg, IsXmlWithOneBarPerStationAndCategoryWithCases) {
  CrimeReport r = buildCrimeReport(fixtureConfig(), latestRecords(fixtureRecords()), kAugToOct);
  std::string svg = crimeReportSvg(r);
  Poco::AutoPtr<Poco::XML::Document> doc;
  ASSERT_NO_THROW(doc = parseSvg(svg)) << svg;

  std::set<std::string> bars;
  for (Poco::XML::Element* bar : elements(*doc, "rect", "bar")) {
    std::string key = bar->getAttribute("data-station") + " " + bar->getAttribute("data-category") +
                      " " + bar->getAttribute("data-cases");
    EXPECT_TRUE(bars.insert(key).second) << "two bars for " << key;
    Poco::AutoPtr<Poco::XML::NodeList> titles = bar->getElementsByTagName("title");
    EXPECT_NE(titles->length(), 0u);
  }
  EXPECT_EQ(bars, (std::set<std::string>{
                      "ps.samastipur.nagar upi_fraud 2", "ps.samastipur.nagar sim_swap 1",
                      "ps.samastipur.nagar job_fraud 1", "ps.samastipur.rosera otp_kyc_fraud 1"}));

  std::vector<Poco::XML::Element*> titles = elements(*doc, "text", "title");
  ASSERT_EQ(titles.size(), 1u);
  EXPECT_NE(titles[0]->innerText().find("समस्तीपुर जिला"), std::string::npos);
  EXPECT_NE(titles[0]->innerText().find("Samastipur district"), std::string::npos);
  std::vector<Poco::XML::Element*> period = elements(*doc, "text", "period");
  ASSERT_EQ(period.size(), 1u);
  EXPECT_NE(period[0]->innerText().find("August 2026 – October 2026"), std::string::npos);
  EXPECT_NE(period[0]->innerText().find("अगस्त 2026"), std::string::npos);

  // The legend names every category; the station labels are in Devanagari.
  std::vector<Poco::XML::Element*> legend = elements(*doc, "g", "legend-item");
  EXPECT_EQ(legend.size(), crimeCategories().size());
  EXPECT_NE(svg.find(">रोसड़ा</text>"), std::string::npos);
  EXPECT_NE(svg.find(">कल्याणपुर</text>"), std::string::npos);  // no cases, still a station
  EXPECT_NE(doc->documentElement()->getAttribute("font-family").find("Noto Sans Devanagari"),
            std::string::npos);
  EXPECT_GE(elements(*doc, "text", "axis-label").size(), 4u);

  // The district total, month by month: one line through one point per month.
  ASSERT_EQ(elements(*doc, "polyline", "total-line").size(), 1u);
  std::vector<std::string> points;
  for (Poco::XML::Element* p : elements(*doc, "circle", "total-point"))
    points.push_back(p->getAttribute("data-month") + "=" + p->getAttribute("data-cases"));
  EXPECT_EQ(points, (std::vector<std::string>{"2026-08=2", "2026-09=2", "2026-10=1"}));
}

TEST(CrimeReportSvg, EscapesNamesForXml) {
  HubConfig config = fixtureConfig();
  config.district = "Sam & <astipur>";
  config.participants[1].name = "Nagar \"A\" & 'B' <x>";
  CrimeReport r = buildCrimeReport(config, latestRecords(fixtureRecords()), kAugToOct);
  Poco::AutoPtr<Poco::XML::Document> doc;
  ASSERT_NO_THROW(doc = parseSvg(crimeReportSvg(r)));
  EXPECT_NE(elements(*doc, "text", "title")[0]->innerText().find("Sam & <astipur>"),
            std::string::npos);
}

TEST(CrimeReportSvg, DrawsAnEmptyPeriodWithoutBars) {
  CrimeReport r = buildCrimeReport(fixtureConfig(), {}, {{2026, 1}, {2026, 1}});
  Poco::AutoPtr<Poco::XML::Document> doc;
  ASSERT_NO_THROW(doc = parseSvg(crimeReportSvg(r)));
  EXPECT_TRUE(elements(*doc, "rect", "bar").empty());
  EXPECT_EQ(elements(*doc, "circle", "total-point").size(), 1u);
}

TEST(Money, RupeesForPeopleAreGroupedTheIndianWay) {
  EXPECT_EQ(formatRupeesIndian(12345678), "₹1,23,456.78");
  EXPECT_EQ(formatRupeesIndian(100000000000), "₹1,00,00,00,000.00");
  EXPECT_EQ(formatRupeesIndian(99900), "₹999.00");
}

}  // namespace
}  // namespace dx
