// Freeze cases, the chase and deadlines, through a real store, journal and pipeline with a clock
// the test moves.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <Poco/File.h>
#include <Poco/TemporaryFile.h>

#include "case_tracker.h"
#include "hub.h"
#include "journal.h"
#include "money.h"
#include "pipeline.h"
#include "stored_message.h"
#include "test_support.h"

namespace dx {
namespace {

class CaseTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = loadConfig(test::writeConfig());
    dir_ = Poco::TemporaryFile::tempName();
    Poco::File(dir_).createDirectories();
    for (ParticipantConfig& p : config_.participants)
      if (p.id == "bank.pnb") p.escalateTo = "sp.samastipur";
    trust_ = std::make_unique<TrustStore>(config_.caPath, config_.crlPath);
    registry_ = std::make_unique<Registry>(config_, *trust_);
    policy_ = std::make_unique<Policy>(Policy::load(config_.policyPath));
    validator_ = std::make_unique<MessageValidator>(config_.schemaDir);
    store_ = openStore(storeUrl());
    journal_ = std::make_unique<Journal>(*store_, hub_, clock_, metrics_);
    pipeline_ = std::make_unique<Pipeline>(config_, *registry_, *policy_, *validator_, *store_,
                                           *journal_, clock_, metrics_);
    openTracker();
  }
  void TearDown() override {
    tracker_.reset();
    pipeline_.reset();
    journal_.reset();
    store_.reset();
    if (!dir_.empty()) Poco::File(dir_).remove(true);
  }
  virtual std::string storeUrl() { return "sqlite:" + dir_ + "/dxhub.db"; }
  void openTracker() {
    tracker_.reset();
    tracker_ = std::make_unique<CaseTracker>(config_, *store_, *pipeline_, hub_, clock_, log_);
    pipeline_->setTracking([t = tracker_.get()](const Pipeline::Accepted& m) { t->accepted(m); });
  }
  void setChase(const std::string& mode) {
    for (ParticipantConfig& p : config_.participants)
      if (p.id == "cc.samastipur") p.chase = mode;
    openTracker();
  }

  // Posts a message signed by `from`, created now by the test's clock; returns its id.
  std::string post(const std::string& type, const std::string& from, const std::string& to,
                   const std::string& body, const std::string& ref = {},
                   const std::string& caseId = kCase) {
    return postVia(*pipeline_, type, from, to, body, ref, caseId);
  }
  // The same through `pipeline` (another hub instance's, say).
  std::string postVia(Pipeline& pipeline, const std::string& type, const std::string& from,
                      const std::string& to, const std::string& body, const std::string& ref = {},
                      const std::string& caseId = kCase) {
    std::string id = newUuid();
    std::string payload =
        R"({"id":")" + id + R"(","type":")" + type + R"(","from":")" + from + R"(","to":")" + to +
        R"(","created":")" + formatRfc3339(clock_.unixSeconds()) + R"(","case":")" + caseId + "\"" +
        (ref.empty() ? "" : R"(,"ref":")" + ref + "\"") + R"(,"body":)" + body + "}";
    Outcome o = pipeline.submit(test::signer(from).sign(payload), from);
    EXPECT_EQ(o.status, 202) << o.body;
    return id;
  }
  static std::string request(const std::string& number, const std::string& ifsc,
                             const std::string& amount, int layer = 1,
                             const std::string& utr = "629812345678",
                             const std::string& respondBy = {}) {
    return R"({"layer":)" + std::to_string(layer) + R"(,"account":{"number":")" + number +
           R"(","ifsc":")" + ifsc + R"("},"hold":"lien","amount":")" + amount +
           R"(","transactions":[{"ref":")" + utr + R"(","amount":")" + amount +
           R"(","at":"2026-10-06T10:02:11+05:30","channel":"UPI"}],)" +
           R"("legal_basis":"BNSS 2023 s.106","officer":{"name":"Duty Officer, Cyber Cell",)" +
           R"("rank":"Inspector","phone":"+910000000000"})" +
           (respondBy.empty() ? "" : R"(,"respond_by":")" + respondBy + "\"") + "}";
  }
  static std::string response(const std::string& status, const std::string& held,
                              const std::string& outflows) {
    return R"({"status":")" + status + R"(","held_amount":")" + held +
           R"(","bank_ref":"BANK/CYB/2026/1","outflows":[)" + outflows + "]}";
  }
  static std::string transfer(const std::string& amount, const std::string& at,
                              const std::string& utr, const std::string& number,
                              const std::string& ifsc) {
    return R"({"kind":"transfer","amount":")" + amount + R"(","at":")" + at + R"(","ref":")" + utr +
           R"(","account":{"number":")" + number + R"(","ifsc":")" + ifsc + R"("}})";
  }
  static std::string atm(const std::string& amount, const std::string& at) {
    return R"({"kind":"atm","amount":")" + amount + R"(","at":")" + at +
           R"(","atm_id":"S1BW012345","place":"Darbhanga"})";
  }
  // The paper trail of the running example: the victim's 45,000 at SBI; 12,000 held, 18,000 and
  // 10,000 sent on to HDFC and PNB, 5,000 taken at an ATM.
  std::string layerOne() {
    std::string req = post("freeze.request", "cc.samastipur", "bank.sbi",
                           request("30112233445", "SBIN0001234", "45000.00"));
    post("freeze.response", "bank.sbi", "cc.samastipur",
         response("partially_held", "12000.00",
                  transfer("18000.00", "2026-10-06T10:09:02+05:30", "629812399001", "50100011122",
                           "HDFC0000123") +
                      "," +
                      transfer("10000.00", "2026-10-06T10:11:40+05:30", "629812399017",
                               "0123456789012", "PUNB0012300") +
                      "," + atm("5000.00", "2026-10-06T10:20:00+05:30")),
         req);
    return req;
  }
  std::vector<MessageRecord> ofType(const std::string& type) { return store_->byType(type, 0, -1); }
  static Paise paise(const char* rupees) { return *parseMoney(rupees); }

  static constexpr const char* kCase = "31509260012345";
  HubConfig config_;
  std::string dir_;
  Signer hub_ = test::signer("hub.samastipur");
  ManualClock clock_{std::chrono::system_clock::now()};
  Metrics metrics_;
  Poco::Logger& log_ = Poco::Logger::get("test");
  std::unique_ptr<TrustStore> trust_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<MessageValidator> validator_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<CaseTracker> tracker_;
};

TEST(Money, ParsesAndPrintsExactRupees) {
  EXPECT_EQ(parseMoney("45000.00"), 4500000);
  EXPECT_EQ(parseMoney("0.5"), 50);
  EXPECT_EQ(parseMoney("7"), 700);
  EXPECT_EQ(parseMoney("1.234"), std::nullopt);
  EXPECT_EQ(parseMoney("-1"), std::nullopt);
  EXPECT_EQ(formatMoney(4500050), "45000.50");
  EXPECT_EQ(formatMoney(5), "0.05");
}

TEST(NameUuid, IsStableAndAValidUuid) {
  EXPECT_EQ(nameUuid("dx:chase:a:1"), nameUuid("dx:chase:a:1"));
  EXPECT_NE(nameUuid("dx:chase:a:1"), nameUuid("dx:chase:a:2"));
  std::string id = nameUuid("x");
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '8');                                          // version 8
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // RFC 9562 variant
}

TEST_F(CaseTrackerTest, CaseTotalsFollowTheMoneyInTimeOrder) {
  std::string req = layerOne();
  FreezeCase c = tracker_->freezeCase(kCase);
  ASSERT_EQ(c.requests.size(), 1u);
  const FreezeNode& n = c.requests[0];
  EXPECT_EQ(n.id, req);
  EXPECT_EQ(n.statusText(), "partially_held");
  EXPECT_EQ(c.totals.disputed, paise("45000"));
  EXPECT_EQ(c.totals.held, paise("12000"));
  EXPECT_EQ(c.totals.atm, paise("5000"));
  EXPECT_EQ(c.totals.escaped(), paise("5000"));
  EXPECT_GE(n.responseSeconds, 0);

  rapidjson::Document json;
  json.Parse(freezeCaseJson(c, config_).c_str());
  ASSERT_TRUE(json.IsObject());
  EXPECT_STREQ(json["totals"]["disputed"].GetString(), "45000.00");
  EXPECT_STREQ(json["totals"]["escaped"]["total"].GetString(), "5000.00");
  EXPECT_STREQ(json["requests"][0]["account"].GetString(), "XXXXXXX3445");  // never in full
  EXPECT_EQ(json["requests"][0]["outflows"].Size(), 3u);
}

TEST_F(CaseTrackerTest, ApproveModeDraftsTheNextLayerAndWaits) {
  layerOne();
  tracker_->tick();
  EXPECT_EQ(ofType("freeze.request").size(), 1u) << "approve mode sends nothing by itself";
  std::vector<ChaseDraft> drafts = tracker_->drafts(kCase);
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].bank, "bank.hdfc");
  EXPECT_EQ(drafts[0].amount, paise("18000"));
  EXPECT_EQ(drafts[0].layer, 2);
  EXPECT_EQ(drafts[0].status, "pending");
  EXPECT_EQ(drafts[1].bank, "bank.pnb");
  EXPECT_EQ(drafts[1].amount, paise("10000"));

  EXPECT_EQ(tracker_->approve(kCase, drafts[0].id, "sp.samastipur").code, "forbidden");
  Outcome sent = tracker_->approve(kCase, drafts[0].id, "cc.samastipur");
  EXPECT_EQ(sent.status, 202) << sent.body;
  Outcome again = tracker_->approve(kCase, drafts[0].id, "cc.samastipur");
  EXPECT_EQ(again.status, 200) << "approving twice is the same request";
  EXPECT_EQ(again.body, sent.body);

  std::optional<MessageRecord> stored = store_->find(drafts[0].id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->from, "cc.samastipur");
  EXPECT_EQ(stored->to, "bank.hdfc");
  rapidjson::Document e = storedEnvelope(*stored);
  EXPECT_STREQ(e["body"]["amount"].GetString(), "18000.00");
  EXPECT_STREQ(e["body"]["transactions"][0]["ref"].GetString(), "629812399001");
  EXPECT_EQ(tracker_->drafts(kCase)[0].status, "sent");
  EXPECT_EQ(tracker_->approve(kCase, "no-such-draft", "cc.samastipur").code, "not_found");
}

TEST_F(CaseTrackerTest, AutoModeSendsEachDraftOnceAcrossPassesAndRestarts) {
  setChase("auto");
  layerOne();
  tracker_->tick();
  tracker_->tick();
  openTracker();  // a restart catches up and finds nothing new to send
  tracker_->tick();
  std::vector<MessageRecord> requests = ofType("freeze.request");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].to, "bank.hdfc");
  EXPECT_EQ(requests[2].to, "bank.pnb");
  FreezeCase c = tracker_->freezeCase(kCase);
  ASSERT_EQ(c.requests.size(), 3u);
  EXPECT_EQ(c.requests[1].parent, c.requests[0].id);
  EXPECT_EQ(c.requests[1].layer, 2);
  EXPECT_EQ(c.totals.awaiting, paise("28000"));
}

TEST_F(CaseTrackerTest, TheChaseNeverAsksMoreThanIsStillDisputedOnTheBranch) {
  setChase("auto");
  std::string req = post("freeze.request", "cc.samastipur", "bank.sbi",
                         request("30112233445", "SBIN0001234", "45000.00"));
  // 40,000 held: of the 45,000 only 5,000 is still disputed, and it left first (time order) by
  // the HDFC transfer; the later PNB transfer carries none of it.
  post("freeze.response", "bank.sbi", "cc.samastipur",
       response("partially_held", "40000.00",
                transfer("10000.00", "2026-10-06T10:11:40+05:30", "629812399017", "0123456789012",
                         "PUNB0012300") +
                    "," +
                    transfer("18000.00", "2026-10-06T10:09:02+05:30", "629812399001", "50100011122",
                             "HDFC0000123")),
       req);
  tracker_->tick();
  std::vector<MessageRecord> requests = ofType("freeze.request");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].to, "bank.hdfc");
  rapidjson::Document e = storedEnvelope(requests[1]);
  EXPECT_STREQ(e["body"]["amount"].GetString(), "5000.00");
}

TEST_F(CaseTrackerTest, AnAccountAlreadyAskedForTheSameMoneyIsNotAskedAgain) {
  setChase("auto");
  std::string req = post("freeze.request", "cc.samastipur", "bank.sbi",
                         request("30112233445", "SBIN0001234", "45000.00"));
  // The cyber cell asked HDFC itself (a phone call, then the request) before SBI answered.
  post("freeze.request", "cc.samastipur", "bank.hdfc",
       request("50100011122", "HDFC0000123", "18000.00", 2, "629812399001"));
  post("freeze.response", "bank.sbi", "cc.samastipur",
       response("money_moved", "0.00",
                transfer("18000.00", "2026-10-06T10:09:02+05:30", "629812399001", "50100011122",
                         "HDFC0000123") +
                    "," +
                    transfer("2000.00", "2026-10-06T10:19:02+05:30", "629812399002", "777000111",
                             "ICIC0000001")),
       req);
  tracker_->tick();
  EXPECT_EQ(ofType("freeze.request").size(), 2u) << "HDFC asked once; ICICI has no bank here";
  std::vector<ChaseDraft> drafts = tracker_->drafts(kCase);
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].status, "covered");
  EXPECT_EQ(drafts[1].status, "unroutable");
  EXPECT_EQ(tracker_->approve(kCase, drafts[1].id, "cc.samastipur").code, "draft_not_pending");
}

TEST_F(CaseTrackerTest, ATreeIsTheSameWhateverOrderItsMessagesArrive) {
  std::string req = post("freeze.request", "cc.samastipur", "bank.sbi",
                         request("30112233445", "SBIN0001234", "45000.00"));
  std::string l2 = post("freeze.request", "cc.samastipur", "bank.hdfc",
                        request("50100011122", "HDFC0000123", "18000.00", 2, "629812399001"));
  post("freeze.response", "bank.hdfc", "cc.samastipur", response("held", "18000.00", ""), l2);
  post("freeze.response", "bank.sbi", "cc.samastipur",
       response("partially_held", "27000.00",
                transfer("18000.00", "2026-10-06T10:09:02+05:30", "629812399001", "50100011122",
                         "HDFC0000123")),
       req);
  std::vector<MessageRecord> messages = store_->byCase(kCase);
  std::string expected =
      freezeCaseJson(buildFreezeCase(kCase, messages, config_, clock_.unixSeconds()), config_);
  std::mt19937 shuffle(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(messages.begin(), messages.end(), shuffle);
    EXPECT_EQ(
        freezeCaseJson(buildFreezeCase(kCase, messages, config_, clock_.unixSeconds()), config_),
        expected);
  }
  FreezeCase c = buildFreezeCase(kCase, messages, config_, clock_.unixSeconds());
  EXPECT_EQ(c.find(l2)->parent, req);
  EXPECT_EQ(c.totals.held, paise("45000"));
  EXPECT_EQ(c.totals.escaped(), 0);
}

TEST_F(CaseTrackerTest, AnOverdueRequestEscalatesOnceToTheCyberCellAndTheBanksContact) {
  std::string toPnb = post("freeze.request", "cc.samastipur", "bank.pnb",
                           request("0123456789012", "PUNB0012300", "10000.00"));
  std::string toSbi = post("freeze.request", "cc.samastipur", "bank.sbi",
                           request("30112233445", "SBIN0001234", "45000.00"));
  post("freeze.response", "bank.sbi", "cc.samastipur", response("held", "45000.00", ""), toSbi);
  clock_.advance(std::chrono::minutes(59));
  tracker_->tick();
  EXPECT_TRUE(ofType("hub.escalation").empty()) << "not yet due (60 minutes)";
  EXPECT_FALSE(tracker_->freezeCase(kCase).requests[0].overdue);

  clock_.advance(std::chrono::minutes(2));
  tracker_->tick();
  tracker_->tick();
  openTracker();
  tracker_->tick();
  std::vector<MessageRecord> escalations = ofType("hub.escalation");
  ASSERT_EQ(escalations.size(), 2u) << "to the cyber cell and PNB's escalation contact, once";
  EXPECT_EQ(escalations[0].to, "cc.samastipur");
  EXPECT_EQ(escalations[1].to, "sp.samastipur");
  EXPECT_EQ(escalations[0].ref, toPnb);
  rapidjson::Document e = storedEnvelope(escalations[0]);
  EXPECT_STREQ(e["body"]["reason"].GetString(), "deadline_passed");

  FreezeCase c = tracker_->freezeCase(kCase);
  EXPECT_TRUE(c.find(toPnb)->overdue);
  EXPECT_EQ(c.totals.unanswered, paise("10000"));
}

TEST_F(CaseTrackerTest, ARequestsOwnRespondByComesFirst) {
  std::string soon = formatRfc3339(clock_.unixSeconds() + 300);
  post("freeze.request", "cc.samastipur", "bank.sbi",
       request("30112233445", "SBIN0001234", "45000.00", 1, "629812345678", soon));
  clock_.advance(std::chrono::minutes(6));
  tracker_->tick();
  EXPECT_EQ(ofType("hub.escalation").size(), 1u);
}

TEST_F(CaseTrackerTest, AnUnacknowledgedNoticeEscalatesToTheSpOffice) {
  // Today in India (+05:30): the notice is due by the end of it.
  std::string today = formatRfc3339(clock_.unixSeconds() + 19800).substr(0, 10);
  std::string withDate = R"({"letter_no":"SP/CC/1","subject":{"en":"Cyber fraud"},)"
                         R"("text":{"en":"Never share OTPs."},"audience":"public",)"
                         R"("areas":["Samastipur"],"channels":["press"],"respond_by":")" +
                         today + "\"}";
  std::string acked = post("notice.awareness", "sp.samastipur", "dm.samastipur", withDate);
  std::string ignored = post("notice.awareness", "sp.samastipur", "dm.samastipur", withDate);
  post("notice.ack", "dm.samastipur", "sp.samastipur", R"({"status":"received"})", acked);
  tracker_->tick();
  EXPECT_TRUE(ofType("hub.escalation").empty());
  clock_.advance(std::chrono::hours(30));  // past the end of the day in India, wherever UTC is
  tracker_->tick();
  std::vector<MessageRecord> escalations = ofType("hub.escalation");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].ref, ignored);
  EXPECT_EQ(escalations[0].to, "sp.samastipur");
}

TEST_F(CaseTrackerTest, AnAccountHeldUnderSeveralCasesNamesTheOthers) {
  post("freeze.request", "cc.samastipur", "bank.sbi",
       request("30112233445", "SBIN0001234", "45000.00"));
  post("freeze.request", "cc.samastipur", "bank.sbi",
       request("30112233445", "SBIN0001234", "9000.00"), {}, "31509260099999");
  post("freeze.request", "cc.samastipur", "bank.sbi",
       request("30112233445", "SBIN0009999", "100.00"), {}, "31509260088888");  // other branch
  FreezeCase c = tracker_->freezeCase(kCase);
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_EQ(c.requests[0].otherCases, std::vector<std::string>{"31509260099999"});
}

TEST_F(CaseTrackerTest, BankReportGivesMedianAndShareInTime) {
  // SBI answers in 10 and 30 minutes; PNB never answers one request.
  std::string a = post("freeze.request", "cc.samastipur", "bank.sbi",
                       request("30112233445", "SBIN0001234", "100.00"));
  std::string b = post("freeze.request", "cc.samastipur", "bank.sbi",
                       request("30112233446", "SBIN0001234", "100.00"));
  post("freeze.request", "cc.samastipur", "bank.pnb",
       request("0123456789012", "PUNB0012300", "100.00"));
  clock_.advance(std::chrono::minutes(10));
  post("freeze.response", "bank.sbi", "cc.samastipur", response("held", "100.00", ""), a);
  clock_.advance(std::chrono::minutes(20));
  post("freeze.response", "bank.sbi", "cc.samastipur", response("held", "100.00", ""), b);
  clock_.advance(std::chrono::minutes(31));
  std::map<std::string, BankFigures> byBank;
  for (const BankFigures& f : tracker_->bankReport()) byBank[f.bank] = f;
  EXPECT_EQ(byBank["bank.sbi"].requests, 2);
  EXPECT_EQ(byBank["bank.sbi"].inTime, 2);
  EXPECT_EQ(byBank["bank.sbi"].medianSeconds, 600);
  EXPECT_EQ(byBank["bank.sbi"].p90Seconds, 1800);
  EXPECT_EQ(byBank["bank.pnb"].overdue, 1);
  EXPECT_EQ(byBank["bank.pnb"].medianSeconds, -1);
  EXPECT_EQ(byBank["bank.hdfc"].requests, 0);
}

// The pass on either back end: what it learns from the pipeline, and what from the store.
class CaseTrackerPassTest : public CaseTrackerTest,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !test::pgServerUrl()) GTEST_SKIP() << test::pgSkipReason();
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    CaseTrackerTest::SetUp();
    // Another hub instance on the same database: it accepts messages this tracker is not told of.
    elsewhere_ = std::make_unique<Pipeline>(config_, *registry_, *policy_, *validator_, *store_,
                                            *journal_, clock_, metrics_);
  }
  void TearDown() override {
    elsewhere_.reset();
    CaseTrackerTest::TearDown();
  }
  std::string storeUrl() override { return db_->url(); }

  std::string notice(const std::string& respondBy) const {
    return R"({"letter_no":"SP/CC/1","subject":{"en":"Cyber fraud"},)"
           R"("text":{"en":"Never share OTPs."},"audience":"public",)"
           R"("areas":["Samastipur"],"channels":["press"],"respond_by":")" +
           respondBy + "\"}";
  }
  std::int64_t storedDeadline(const std::string& id) {
    std::optional<MessageRecord> m = store_->find(id);
    EXPECT_TRUE(m) << id;
    return m ? deadlineOf(*m, config_) : -1;
  }
  std::vector<std::string> escalatedAbout() {
    std::vector<std::string> refs;
    for (const MessageRecord& e : ofType("hub.escalation")) refs.push_back(e.ref);
    return refs;
  }

  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<Pipeline> elsewhere_;
};

TEST_P(CaseTrackerPassTest, ADeadlineToldByThePipelineIsTheOneOfTheStoredRowAndNothingIsParsed) {
  // The journal's batch time (the row's accepted_at) 7 s behind the clock the pipeline and the
  // tracker read: a bank's window counts from the former.
  ManualClock batchClock{clock_.now() - std::chrono::seconds(7)};
  tracker_.reset();
  elsewhere_.reset();
  pipeline_.reset();
  journal_ = std::make_unique<Journal>(*store_, hub_, batchClock, metrics_);
  pipeline_ = std::make_unique<Pipeline>(config_, *registry_, *policy_, *validator_, *store_,
                                         *journal_, clock_, metrics_);
  openTracker();

  std::string windowed = post("freeze.request", "cc.samastipur", "bank.sbi",
                              request("30112233445", "SBIN0001234", "45000.00"));
  std::string own = post("freeze.request", "cc.samastipur", "bank.pnb",
                         request("0123456789012", "PUNB0012300", "10000.00", 1, "629812345678",
                                 formatRfc3339(clock_.unixSeconds() + 300)));
  std::string today = formatRfc3339(clock_.unixSeconds() + 19800).substr(0, 10);
  std::string dated = post("notice.awareness", "sp.samastipur", "dm.samastipur", notice(today));
  tracker_->tick();

  EXPECT_EQ(tracker_->rowsParsed(), 0) << "all three were told of by the pipeline";
  for (const std::string& id : {windowed, own, dated}) {
    ASSERT_TRUE(tracker_->watching(id)) << id;
    EXPECT_EQ(*tracker_->watching(id), storedDeadline(id)) << id;
  }
  // And the figures themselves: the bank's window after the row's accepted_at; the request's
  // own time; the end of the notice's day in India.
  std::optional<MessageRecord> row = store_->find(windowed);
  EXPECT_EQ(*tracker_->watching(windowed),
            batchClock.unixSeconds() + config_.findParticipant("bank.sbi")->respondWithinS);
  EXPECT_EQ(*parseRfc3339(row->acceptedAt), batchClock.unixSeconds());
  EXPECT_EQ(*tracker_->watching(own), clock_.unixSeconds() + 300);
  EXPECT_EQ(*tracker_->watching(dated), *parseRfc3339(today + "T23:59:59+05:30"));
}

TEST_P(CaseTrackerPassTest, ARequestAcceptedByAnotherInstanceIsEscalatedAtItsDeadline) {
  std::string req = postVia(*elsewhere_, "freeze.request", "cc.samastipur", "bank.pnb",
                            request("0123456789012", "PUNB0012300", "10000.00"));
  tracker_->tick();
  EXPECT_EQ(tracker_->rowsParsed(), 1) << "read from the store, as it was not told of it";
  ASSERT_TRUE(tracker_->watching(req));
  EXPECT_EQ(*tracker_->watching(req), storedDeadline(req));

  clock_.advance(std::chrono::minutes(59));
  tracker_->tick();
  EXPECT_TRUE(escalatedAbout().empty()) << "not yet due";
  clock_.advance(std::chrono::minutes(2));
  tracker_->tick();
  EXPECT_EQ(escalatedAbout(), (std::vector<std::string>{req, req}))
      << "to the cyber cell and PNB's escalation contact";
  EXPECT_FALSE(tracker_->watching(req));
  EXPECT_EQ(tracker_->rowsParsed(), 1);
}

TEST_P(CaseTrackerPassTest, AnAnsweredRequestIsNotEscalatedWhereverTheAnswerArrived) {
  std::string here = post("freeze.request", "cc.samastipur", "bank.sbi",
                          request("30112233445", "SBIN0001234", "100.00"));
  std::string there = post("freeze.request", "cc.samastipur", "bank.sbi",
                           request("30112233446", "SBIN0001234", "100.00"));
  std::string never = post("freeze.request", "cc.samastipur", "bank.sbi",
                           request("30112233447", "SBIN0001234", "100.00"));
  tracker_->tick();
  ASSERT_TRUE(tracker_->watching(here) && tracker_->watching(there) && tracker_->watching(never));

  post("freeze.response", "bank.sbi", "cc.samastipur", response("held", "100.00", ""), here);
  postVia(*elsewhere_, "freeze.response", "bank.sbi", "cc.samastipur",
          response("held", "100.00", ""), there);
  tracker_->tick();
  EXPECT_FALSE(tracker_->watching(here)) << "its answer came through this hub's pipeline";
  EXPECT_TRUE(tracker_->watching(there)) << "the store says so at the deadline";

  clock_.advance(std::chrono::minutes(61));
  tracker_->tick();
  EXPECT_EQ(escalatedAbout(), std::vector<std::string>{never});
  EXPECT_FALSE(tracker_->watching(there));
  EXPECT_EQ(tracker_->rowsParsed(), 0);
}

TEST_P(CaseTrackerPassTest, ARestartCatchesUpFromTheStore) {
  // More than a few, so the catch-up reads their rows in one query; one answered while the
  // tracker was down, one notice.
  std::vector<std::string> requests;
  for (int i = 0; i < 18; ++i)
    requests.push_back(post("freeze.request", "cc.samastipur", "bank.sbi",
                            request("3011223344" + std::to_string(i), "SBIN0001234", "100.00")));
  std::string today = formatRfc3339(clock_.unixSeconds() + 19800).substr(0, 10);
  std::string dated = post("notice.awareness", "sp.samastipur", "dm.samastipur", notice(today));
  tracker_->tick();
  std::map<std::string, std::int64_t> before;
  for (const std::string& id : requests) before[id] = *tracker_->watching(id);

  pipeline_->setTracking({});
  tracker_.reset();  // the hub stops; an answer arrives through another instance meanwhile
  std::string answered = requests.back();
  requests.pop_back();
  postVia(*elsewhere_, "freeze.response", "bank.sbi", "cc.samastipur",
          response("held", "100.00", ""), answered);
  openTracker();
  tracker_->tick();
  EXPECT_EQ(tracker_->rowsParsed(), 18) << "every unanswered one, once";
  for (const std::string& id : requests) {
    ASSERT_TRUE(tracker_->watching(id)) << id;
    EXPECT_EQ(*tracker_->watching(id), before[id]) << id;
  }
  EXPECT_FALSE(tracker_->watching(answered));
  EXPECT_EQ(tracker_->watching(dated), storedDeadline(dated));

  clock_.advance(std::chrono::hours(30));
  tracker_->tick();
  std::vector<std::string> expected = requests;
  expected.push_back(dated);
  std::vector<std::string> got = escalatedAbout();
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(tracker_->rowsParsed(), 18);
}

INSTANTIATE_TEST_SUITE_P(Backends, CaseTrackerPassTest, ::testing::ValuesIn(test::storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx
