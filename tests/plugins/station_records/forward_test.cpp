// A hub at a police station forwarding to the district hub over mutual TLS as the station: the
// outbox loses nothing while the district is down or busy, survives a restart, and nothing
// arrives twice — a post whose answer was lost is re-posted as the same JWS and answered with
// the same receipt.
#include <gtest/gtest.h>

#include "station_records_connector.h"
#include "support.h"

namespace dx::station_records {
namespace {

using namespace test;

const std::string kNagar = "ps.samastipur.nagar";
const std::string kRosera = "ps.samastipur.rosera";

std::string exportOf(int first, int count) {
  std::string out =
      "case_no,registered_on,category,sections,status,amount_lost,amount_frozen,"
      "amount_recovered,ncrp_ack,actions\n";
  for (int i = first; i < first + count; ++i)
    out += std::to_string(i) + "/2026,2026-10-0" + std::to_string(1 + i % 9) +
           ",upi_fraud,BNS 318(4); IT Act 66D,registered,1500.00,0.00,0.00,,"
           "पीड़ित का बयान दर्ज किया गया\n";
  return out;
}

class ForwardTest : public ::testing::Test {
 protected:
  void SetUp() override { pkiDir(); }
  void TearDown() override {
    if (connector_) connector_->stop();
  }

  StationRecordsConnector& start(bool checkReceipts = true) {
    connector_ = std::make_unique<StationRecordsConnector>();
    connector_->start(
        context_,
        settingsFor(*connector_,
                    {{"stations", R"([{"id": ")" + kNagar + R"(", "inbox_dir": ")" + nagar() +
                                      R"("}, {"id": ")" + kRosera + R"(", "inbox_dir": ")" +
                                      rosera() + R"("}])"},
                     {"poll_ms", "20"},
                     {"state_dir", quoted(dir_ / "state")},
                     {"schemas", quoted(schemasDir())},
                     {"forward_to", quoted(district_.url() + "/")},
                     {"hub_cert", quoted(checkReceipts ? pkiDir() + "/hub.samastipur.crt" : "")}}));
    return *connector_;
  }
  void restart() {
    connector_->stop();
    connector_.reset();
    start();
  }
  std::string nagar() const { return dir_ / "nagar"; }
  std::string rosera() const { return dir_ / "rosera"; }
  std::size_t pending() { return connector_->outbox().count("pending"); }
  // Every message the district stored, by case: each must be there exactly once.
  std::map<std::string, int> arrivedByCase() {
    std::map<std::string, int> out;
    for (const Received& r : district_.received()) ++out[r.from + " " + r.caseNo];
    return out;
  }

  TempDir dir_;
  FakeContext context_{{kNagar, kRosera}};
  FakeDistrict district_;
  std::unique_ptr<StationRecordsConnector> connector_;
};

TEST_F(ForwardTest, DownForAWhileThenUpEveryRecordArrivesOnceAndTheOutboxEmpties) {
  district_.down();
  StationRecordsConnector& c = start();
  drop(nagar(), "nagar.csv", exportOf(100, 5));
  drop(rosera(), "rosera.csv", exportOf(200, 3));
  ASSERT_TRUE(eventually([&] {
    return pending() == 8u && listDir(nagar() + "/done").size() == 1u &&
           listDir(rosera() + "/done").size() == 1u;
  }));
  std::this_thread::sleep_for(300ms);  // several failed tries, backing off
  EXPECT_TRUE(context_.hub.received().empty()) << "forwarding never submits locally";
  EXPECT_TRUE(listDir(nagar() + "/rejected").empty());

  district_.up();
  ASSERT_TRUE(eventually([&] { return pending() == 0u; }));
  std::map<std::string, int> arrived = arrivedByCase();
  EXPECT_EQ(arrived.size(), 8u);
  for (const auto& [what, n] : arrived) EXPECT_EQ(n, 1) << what;
  // Each post came over TLS as the station that signed it.
  for (const auto& [id, client] : district_.posts()) {
    if (id.empty()) continue;
    bool found = false;
    for (const Received& r : district_.received())
      if (r.id == id) found = r.from == client;
    EXPECT_TRUE(found) << id << " from " << client;
  }
  // Receipts kept, checked against the district hub's certificate.
  for (const OutboxEntry& e : c.outbox().all()) {
    EXPECT_EQ(e.state, "sent");
    EXPECT_EQ(e.receiptCheck, "verified") << e.receiptCheck;
    EXPECT_EQ(e.receipt, district_.hub.receiptFor(e.messageId));
  }
}

TEST_F(ForwardTest, ARestartInTheMiddleKeepsTheOutbox) {
  district_.down();
  start();
  drop(nagar(), "nagar.csv", exportOf(300, 4));
  ASSERT_TRUE(eventually([&] { return pending() == 4u; }));
  std::set<std::string> signedIds;
  for (const OutboxEntry& e : connector_->outbox().all()) signedIds.insert(e.messageId);

  restart();  // the station's hub restarts while the district is still down
  EXPECT_EQ(pending(), 4u);
  district_.up();
  ASSERT_TRUE(eventually([&] { return pending() == 0u; }));
  std::set<std::string> arrivedIds;
  for (const Received& r : district_.received()) arrivedIds.insert(r.id);
  EXPECT_EQ(arrivedIds, signedIds) << "the same signed messages, not new ones";
  EXPECT_EQ(district_.received().size(), 4u);

  // The same export dropped again after the restart: nothing is sent twice.
  drop(nagar(), "nagar.csv", exportOf(300, 4));
  ASSERT_TRUE(eventually([&] { return listDir(nagar() + "/done").size() == 2u; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(district_.received().size(), 4u);
  EXPECT_EQ(connector_->outbox().all().size(), 4u);
}

TEST_F(ForwardTest, BusyAndLostAnswersAreRetriedWithTheSameJwsAndArriveOnce) {
  district_.mode(FakeDistrict::Mode::Busy);
  StationRecordsConnector& c = start();
  drop(nagar(), "nagar.csv", exportOf(400, 2));
  ASSERT_TRUE(eventually([&] { return district_.posts().size() >= 2u; }));
  EXPECT_TRUE(district_.received().empty());
  EXPECT_EQ(pending(), 2u);

  // The district stores the records, but its answers never reach the station.
  district_.mode(FakeDistrict::Mode::LoseAnswer);
  ASSERT_TRUE(eventually([&] { return district_.received().size() == 2u; }));
  EXPECT_EQ(pending(), 2u);
  district_.mode(FakeDistrict::Mode::Normal);
  ASSERT_TRUE(eventually([&] { return pending() == 0u; }));

  std::vector<Received> arrived = district_.received();
  ASSERT_EQ(arrived.size(), 2u) << "stored once each";
  EXPECT_NE(arrived[0].caseNo, arrived[1].caseNo);
  for (const Received& r : arrived) {
    int posts = 0;
    for (const auto& [id, client] : district_.posts()) posts += id == r.id;
    EXPECT_GE(posts, 2) << "a message whose answer was lost is posted again, as it was";
  }
  for (const OutboxEntry& e : c.outbox().all()) {
    EXPECT_EQ(e.receiptCheck, "verified");
    EXPECT_EQ(e.receipt, district_.hub.receiptFor(e.messageId)) << "the original receipt";
  }
}

TEST_F(ForwardTest, ARefusalAfterTheFileWasFiledIsAddedToItsReport) {
  district_.down();
  district_.hub.refuseCase("501/2026");
  start(false);
  drop(nagar(), "late.csv", exportOf(500, 2));
  ASSERT_TRUE(eventually([&] { return listDir(nagar() + "/done").size() == 1u; }));
  EXPECT_EQ(pending(), 2u);
  EXPECT_EQ(listDir(nagar() + "/done"), std::vector<std::string>{"late.csv"});
  district_.up();
  const std::string path = nagar() + "/rejected/late.csv.errors.csv";
  ASSERT_TRUE(eventually([&] { return pending() == 0u && !readText(path).empty(); }));
  EXPECT_EQ(district_.received().size(), 1u);
  std::string report = readText(path);
  EXPECT_EQ(report,
            "line,case_no,reason\n3,501/2026,refused by the hub: 403 forbidden: the test hub "
            "refuses this case\n");
  for (const OutboxEntry& e : connector_->outbox().all()) {
    if (e.state == "sent") {
      EXPECT_EQ(e.receiptCheck, "unverified: no hub_cert is configured");
    }
  }
}

}  // namespace
}  // namespace dx::station_records
