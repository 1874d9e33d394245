// The station side submitting into this hub's own pipeline: exactly the good, new or changed
// records are signed and submitted, once; every bad row is reported beside the file.
#include <gtest/gtest.h>

#include "station_records_connector.h"
#include "support.h"

namespace dx::station_records {
namespace {

using namespace test;

const std::string kNagar = "ps.samastipur.nagar";
const std::string kHeader =
    "case_no,registered_on,category,sections,status,amount_lost,amount_frozen,amount_recovered,"
    "ncrp_ack,actions\n";

std::string row(const std::string& caseNo, const std::string& status = "under_investigation",
                const std::string& frozen = "20000.00") {
  return caseNo + ",2026-09-14,otp_kyc_fraud,BNS 318(4); IT Act 66D," + status + ",45000.00," +
         frozen + ",0.00,31509260012345,\"freeze requested to SBI, ₹" + frozen + " held\"\n";
}

std::set<std::string> casesOf(const std::vector<Received>& got) {
  std::set<std::string> out;
  for (const Received& r : got) out.insert(r.caseNo);
  return out;
}

class SourceTest : public ::testing::Test {
 protected:
  void SetUp() override { pkiDir(); }
  void TearDown() override {
    if (connector_) connector_->stop();
  }

  // A connector acting for Nagar (and Rosera, without a folder), submitting to this hub. The
  // watcher polls only when told to (poll_ms is an hour; tests call pollOnce()).
  StationRecordsConnector& start(std::map<std::string, std::string> more = {}) {
    std::map<std::string, std::string> settings = {
        {"stations", R"([{"id": ")" + kNagar + R"(", "inbox_dir": ")" + inbox() + R"("}])"},
        {"poll_ms", "3600000"},
        {"state_dir", quoted(dir_ / "state")},
        {"schemas", quoted(schemasDir())}};
    for (auto& [k, v] : more) settings[k] = v;
    connector_ = std::make_unique<StationRecordsConnector>();
    connector_->start(context_, settingsFor(*connector_, settings));
    return *connector_;
  }
  std::string inbox() const { return dir_ / "inbox"; }
  std::vector<Received> submitted() { return context_.hub.received(); }

  TempDir dir_;
  FakeContext context_{{kNagar, "ps.samastipur.rosera"}};
  std::unique_ptr<StationRecordsConnector> connector_;
};

TEST_F(SourceTest, SubmitsExactlyTheGoodNewRowsAndReportsTheBadOnes) {
  StationRecordsConnector& c = start();
  drop(inbox(), "sept.csv",
       kHeader + row("214/2026") +                                                     // line 2
           "215/2026,2026-02-30,upi_fraud,BNS 318(4),registered,100.00,0.00,0.00,,\n"  // 3
           + row("216/2026") +                                                         // 4
           "217/2026,2026-09-15,upi_fraud,BNS 318(4),registered,12.345,0.00,0.00,,\n"  // 5
           + row("214/2026") +  // 6: line 2 repeated
           "218/2026,2026-09-15,lottery_fraud,BNS 318(4),registered,1.00,0.00,0.00,,\n"  // 7
           "219/2026,2026-09-15,upi_fraud,BNS 318(4),registered,1.00,0.00,0.00,,"
           "victim shared Aadhaar 2345 6789 0124 with the caller\n");  // 8
  c.pollOnce();

  std::vector<Received> got = submitted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(casesOf(got), (std::set<std::string>{"214/2026", "216/2026"}));
  for (const Received& r : got) {
    EXPECT_EQ(r.from, kNagar);
    EXPECT_EQ(r.to, "cc.samastipur");
  }
  EXPECT_EQ(listDir(inbox() + "/done"), std::vector<std::string>{"sept.csv"});
  EXPECT_TRUE(listDir(inbox() + "/processing").empty());
  std::string errors = readText(inbox() + "/rejected/sept.csv.errors.csv");
  std::istringstream lines(errors);
  std::vector<std::string> l;
  for (std::string s; std::getline(lines, s);) l.push_back(s);
  ASSERT_EQ(l.size(), 5u) << errors;
  EXPECT_EQ(l[0], "line,case_no,reason");
  EXPECT_EQ(l[1].rfind("3,215/2026,\"schema: body.registered_on", 0), 0u) << l[1];
  EXPECT_EQ(l[2].rfind("5,217/2026,\"schema: body.amount_lost", 0), 0u) << l[2];
  EXPECT_EQ(l[3].rfind("7,218/2026,\"schema: body.category", 0), 0u) << l[3];
  EXPECT_EQ(l[4].rfind("8,219/2026,pii_aadhaar: body.actions[0]", 0), 0u) << l[4];
  EXPECT_EQ(errors.find("2345"), std::string::npos) << "the report must not repeat the number";
  // Receipts are kept and were checked against this hub's certificate.
  std::vector<OutboxEntry> sent = c.outbox().all();
  ASSERT_EQ(sent.size(), 2u);
  for (const OutboxEntry& e : sent) {
    EXPECT_EQ(e.state, "sent");
    EXPECT_EQ(e.receiptCheck, "verified");
    EXPECT_FALSE(e.receipt.empty());
  }
}

TEST_F(SourceTest, TheSameFileAgainSendsNothingAndAChangedRowIsSentAgain) {
  StationRecordsConnector& c = start();
  std::string file = kHeader + row("214/2026") + row("216/2026");
  drop(inbox(), "export.csv", file, 60s);
  c.pollOnce();
  ASSERT_EQ(submitted().size(), 2u);

  drop(inbox(), "export.csv", file, 50s);
  c.pollOnce();
  EXPECT_EQ(submitted().size(), 2u) << "nothing is sent twice";
  EXPECT_EQ(listDir(inbox() + "/done"), (std::vector<std::string>{"export.1.csv", "export.csv"}));
  EXPECT_TRUE(listDir(inbox() + "/rejected").empty());

  // 216 changes (money frozen, status); 214 is the same: only 216 goes, and supersedes.
  drop(inbox(), "export.csv",
       kHeader + row("214/2026") + row("216/2026", "chargesheeted", "30000.00"), 40s);
  c.pollOnce();
  std::vector<Received> got = submitted();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].caseNo, "216/2026");
  EXPECT_NE(got[2].body.find("\"chargesheeted\""), std::string::npos);
  EXPECT_NE(got[2].id, got[1].id);

  // And back to the earlier version: that is a change again (it supersedes the newer one).
  drop(inbox(), "export.csv", kHeader + row("216/2026"), 30s);
  c.pollOnce();
  EXPECT_EQ(submitted().size(), 4u);
}

TEST_F(SourceTest, VersionsOfOneCaseArriveInTheOrderTheyWereWritten) {
  StationRecordsConnector& c = start();
  // Many cases (sent several at once) and three versions of one of them in one export.
  std::string file = kHeader;
  for (int i = 0; i < 20; ++i) file += row(std::to_string(400 + i) + "/2026");
  file += row("420/2026", "registered", "0.00") + row("420/2026", "under_investigation", "10.00") +
          row("420/2026", "chargesheeted", "20.00");
  drop(inbox(), "export.csv", file);
  c.pollOnce();
  std::vector<Received> got = submitted();
  ASSERT_EQ(got.size(), 23u);
  std::vector<std::string> versions;
  for (const Received& r : got)
    if (r.caseNo == "420/2026") versions.push_back(r.body.substr(r.body.find("\"status\"")));
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions[0].rfind("\"status\":\"registered\"", 0), 0u);
  EXPECT_EQ(versions[1].rfind("\"status\":\"under_investigation\"", 0), 0u);
  EXPECT_EQ(versions[2].rfind("\"status\":\"chargesheeted\"", 0), 0u);
  EXPECT_EQ(c.outbox().count("sent"), 23u);
}

TEST_F(SourceTest, ReadsJsonExportsSingleAndArray) {
  StationRecordsConnector& c = start();
  const std::string one =
      R"({"case_no":"301/2026","registered_on":"2026-10-01","category":"sextortion",)"
      R"j("sections":["BNS 308(2)","IT Act 67"],"status":"registered","amount_lost":"30000.00",)j"
      R"("amount_frozen":"0.00","amount_recovered":"0.00","actions":["पीड़ित की काउंसलिंग कराई गई"]})";
  drop(inbox(), "one.json", one, 60s);
  drop(inbox(), "many.json",
       "[" + one +  // the same record again: skipped
           R"(,{"case_no":"302/2026","registered_on":"2026-10-02","category":"loan_app",)"
           R"j("sections":["BNS 308(2)"],"status":"registered","amount_lost":"8000.00",)j"
           R"("amount_frozen":"0.00","amount_recovered":"0.00"},)"
           R"({"case_no":"303/2026","registered_on":"2026-10-02","category":"loan_app",)"
           R"j("sections":["BNS 308(2)"],"status":"registered","amount_lost":"8000.00",)j"
           R"("amount_frozen":"0.00","amount_recovered":"0.00","victim":"x"}])",
       50s);
  c.pollOnce();
  std::vector<Received> got = submitted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(casesOf(got), (std::set<std::string>{"301/2026", "302/2026"}));
  EXPECT_EQ(listDir(inbox() + "/done"), (std::vector<std::string>{"many.json", "one.json"}));
  std::string errors = readText(inbox() + "/rejected/many.json.errors.csv");
  EXPECT_NE(errors.find("\n2,303/2026,\"schema: body: unknown field \"\"victim\"\""),
            std::string::npos)
      << errors;
}

TEST_F(SourceTest, AFileWithNoGoodRowOrBadColumnsGoesToRejected) {
  StationRecordsConnector& c = start();
  drop(inbox(), "columns.csv", "case_no,registered_on,kategorie\n1/2026,2026-01-01,other\n", 60s);
  drop(inbox(), "allbad.csv",
       kHeader + "1/2026,2026-13-01,upi_fraud,BNS 318(4),registered,1.00,0.00,0.00,,\n", 50s);
  c.pollOnce();
  EXPECT_TRUE(submitted().empty());
  EXPECT_EQ(listDir(inbox() + "/rejected"),
            (std::vector<std::string>{"allbad.csv", "allbad.csv.errors.csv", "columns.csv",
                                      "columns.csv.errors.csv"}));
  std::string columns = readText(inbox() + "/rejected/columns.csv.errors.csv");
  EXPECT_NE(columns.find("unknown column(s) \"\"kategorie\"\""), std::string::npos) << columns;
  EXPECT_NE(columns.find("missing required column(s) category, sections, status"),
            std::string::npos)
      << columns;
  EXPECT_EQ(std::count(columns.begin(), columns.end(), '\n'), 2) << "header and one line";
}

TEST_F(SourceTest, ARefusalByTheHubGoesToTheReportWithItsCode) {
  StationRecordsConnector& c = start();
  context_.hub.refuseCase("216/2026");
  drop(inbox(), "export.csv", kHeader + row("214/2026") + row("216/2026"));
  c.pollOnce();
  ASSERT_EQ(submitted().size(), 1u);
  std::string errors = readText(inbox() + "/rejected/export.csv.errors.csv");
  EXPECT_NE(errors.find("3,216/2026,refused by the hub: 403 forbidden: the test hub refuses"),
            std::string::npos)
      << errors;
  EXPECT_EQ(listDir(inbox() + "/done"), std::vector<std::string>{"export.csv"});
  EXPECT_EQ(c.outbox().count("refused"), 1u);
  // A refused version does not count as sent: dropped again, it is tried again.
  drop(inbox(), "export.csv", kHeader + row("216/2026"));
  c.pollOnce();
  EXPECT_EQ(c.outbox().count("refused"), 2u);
}

TEST_F(SourceTest, ABusyHubKeepsRecordsInTheOutboxUntilItTakesThem) {
  StationRecordsConnector& c = start({{"poll_ms", "10"}});
  c.stop();  // drive the passes by hand
  context_.busy_ = true;
  drop(inbox(), "export.csv", kHeader + row("214/2026") + row("216/2026"));
  c.pollOnce();
  EXPECT_TRUE(submitted().empty());
  EXPECT_EQ(listDir(inbox() + "/done"), std::vector<std::string>{"export.csv"});
  EXPECT_EQ(c.outbox().count("pending"), 2u);
  context_.busy_ = false;
  // The pass after the back-off sends them, in order, once.
  ASSERT_TRUE(eventually([&] {
    c.pollOnce();
    return submitted().size() == 2u;
  }));
  EXPECT_EQ(casesOf(submitted()), (std::set<std::string>{"214/2026", "216/2026"}));
  EXPECT_EQ(c.outbox().count("pending"), 0u);
}

TEST_F(SourceTest, AStaleRecordIsSignedAnewAndSentOnce) {
  StationRecordsConnector& c = start({{"poll_ms", "10"}});
  c.stop();
  context_.busy_ = true;
  drop(inbox(), "export.csv", kHeader + row("214/2026"));
  c.pollOnce();
  std::string firstId = c.outbox().all().at(0).messageId;
  context_.hub.staleId(firstId);  // it waited too long: the hub finds it stale
  context_.busy_ = false;
  ASSERT_TRUE(eventually([&] {
    c.pollOnce();
    return submitted().size() == 1u;
  }));
  EXPECT_NE(submitted()[0].id, firstId);
  std::vector<OutboxEntry> all = c.outbox().all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "sent");
  EXPECT_EQ(all[0].messageId, submitted()[0].id);
}

TEST_F(SourceTest, TheWatcherThreadPicksUpFilesAndStopsPromptly) {
  start({{"poll_ms", "20"}});
  drop(inbox(), "export.csv", kHeader + row("214/2026"));
  ASSERT_TRUE(eventually([&] { return submitted().size() == 1u; }));
  // Between polls it waits on a condition variable: stop() does not wait for the poll period.
  StationRecordsConnector slow;
  slow.start(context_, settingsFor(slow, {{"stations", R"([{"id": "ps.samastipur.rosera",)"
                                                       R"( "inbox_dir": ")" +
                                                           (dir_ / "rosera") + R"("}])"},
                                          {"poll_ms", "3600000"},
                                          {"state_dir", quoted(dir_ / "state-rosera")},
                                          {"schemas", quoted(schemasDir())}}));
  std::this_thread::sleep_for(50ms);
  auto before = std::chrono::steady_clock::now();
  slow.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

TEST_F(SourceTest, StartRefusesAStationItDoesNotActFor) {
  StationRecordsConnector c;
  try {
    c.start(context_,
            settingsFor(c, {{"stations", R"([{"id": "ps.samastipur.mufassil", "inbox_dir": ")" +
                                             (dir_ / "m") + R"("}])"},
                            {"state_dir", quoted(dir_ / "state")},
                            {"schemas", quoted(schemasDir())}}));
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(
        std::string(e.what()).find("ps.samastipur.mufassil must be in this plugin's acts_for"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(c.start(context_, settingsFor(c, {{"stations", R"([{"id": "x", "dir": "y"}])"},
                                                 {"state_dir", quoted(dir_ / "state")}})),
               std::runtime_error);
}

TEST_F(SourceTest, TheSimulatorsExportsGoThroughWithExactlyTheirFaultsReported) {
  const std::string sim = DX_BINARY_DIR "/dx-sim-station";
  ASSERT_TRUE(fs::exists(sim)) << sim << " is not built";
  TempDir out;
  std::string cmd = sim + " --out '" + out.path() + "' --station " + kNagar +
                    " --rows 60 --bad 8 --seed 42 --months 2026-01..2026-06 --repeat > '" +
                    (out / ".log") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readText(out / ".log");
  std::string first, repeat;
  for (const std::string& f : listDir(out.path())) {
    if (f[0] == '.') continue;
    (f.find("-repeat") != std::string::npos ? repeat : first) = f;
  }
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(repeat.empty());
  // Into the inbox, the export before its repeat.
  drop(inbox(), first, readText(out / first), 60s);
  drop(inbox(), repeat, readText(out / repeat), 50s);

  StationRecordsConnector& c = start();
  c.pollOnce();
  std::vector<Received> got = submitted();
  EXPECT_EQ(got.size(), 52u);
  std::set<std::string> categories, cases;
  bool hindi = false;
  for (const Received& r : got) {
    rapidjson::Document body;
    body.Parse(r.body.c_str());
    categories.insert(body["category"].GetString());
    cases.insert(r.caseNo);
    hindi = hindi || r.body.find("\xE0\xA4") != std::string::npos;  // Devanagari block
  }
  EXPECT_EQ(categories.size(), 9u);
  EXPECT_EQ(cases.size(), 52u);
  EXPECT_TRUE(hindi);
  std::string errors = readText(inbox() + "/rejected/" + first + ".errors.csv");
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 9) << errors;
  for (const char* kind :
       {"body.registered_on", "body.amount_lost", "body.category", "pii_aadhaar"})
    EXPECT_NE(errors.find(kind), std::string::npos) << kind << "\n" << errors;
  std::vector<std::string> done = listDir(inbox() + "/done");
  EXPECT_EQ(std::set<std::string>(done.begin(), done.end()),
            (std::set<std::string>{first, repeat}));
  EXPECT_FALSE(fs::exists(inbox() + "/rejected/" + repeat + ".errors.csv"));
}

}  // namespace
}  // namespace dx::station_records
