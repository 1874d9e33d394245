// The district side: every version of every case kept; the newest by `created` is current.
#include <gtest/gtest.h>

#include "station_records_connector.h"
#include "support.h"

namespace dx::station_records {
namespace {

using namespace test;

Message record(const std::string& from, const std::string& caseNo, const std::string& status,
               const std::string& created) {
  Message m;
  m.id = newUuid();
  m.type = "station.record";
  m.from = from;
  m.to = "cc.samastipur";
  m.created = created;
  m.payload = R"({"id":")" + m.id + R"(","type":"station.record","from":")" + from +
              R"(","to":"cc.samastipur","created":")" + created + R"(","body":{"case_no":")" +
              caseNo +
              R"j(","registered_on":"2026-09-14","category":"upi_fraud","sections":["BNS 318(4)",)j"
              R"("IT Act 66D"],"status":")" +
              status +
              R"(","amount_lost":"45000.00","amount_frozen":"20000.00","amount_recovered":"0.00",)"
              R"("actions":["पीड़ित का बयान दर्ज किया गया"]}})";
  return m;
}

class SinkTest : public ::testing::Test {
 protected:
  StationRecordsConnector& start() {
    connector_ = std::make_unique<StationRecordsConnector>();
    connector_->start(context_, settingsFor(*connector_, {{"state_dir", quoted(dir_ / "state")},
                                                          {"schemas", quoted(schemasDir())}}));
    return *connector_;
  }
  TempDir dir_;
  FakeContext context_{{}};
  std::unique_ptr<StationRecordsConnector> connector_;
};

TEST_F(SinkTest, KeepsEveryVersionAndTheNewestByCreatedIsCurrent) {
  StationRecordsConnector& c = start();
  Message older =
      record("ps.samastipur.nagar", "214/2026", "registered", "2026-09-15T10:00:00+05:30");
  Message newer =
      record("ps.samastipur.nagar", "214/2026", "chargesheeted", "2026-09-20T10:00:00+05:30");
  // The newer version arrives first (a station's outbox emptied out of order): still current.
  EXPECT_EQ(c.deliver(newer).kind, DeliveryResult::Kind::Delivered);
  EXPECT_EQ(c.deliver(older).kind, DeliveryResult::Kind::Delivered);
  // Another station's case of the same number is another case.
  EXPECT_EQ(
      c.deliver(record("ps.samastipur.rosera", "214/2026", "closed", "2026-09-16T10:00:00Z")).kind,
      DeliveryResult::Kind::Delivered);

  std::vector<StationRecord> history = c.recordBook().history("ps.samastipur.nagar", "214/2026");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].status, "registered");
  EXPECT_EQ(history[1].status, "chargesheeted");

  std::vector<StationRecord> current = c.recordBook().current();
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].station, "ps.samastipur.nagar");
  EXPECT_EQ(current[0].status, "chargesheeted");
  EXPECT_EQ(current[0].messageId, newer.id);
  EXPECT_EQ(current[0].versions, 2);
  EXPECT_EQ(current[0].sections, (std::vector<std::string>{"BNS 318(4)", "IT Act 66D"}));
  EXPECT_EQ(current[0].actions, std::vector<std::string>{"पीड़ित का बयान दर्ज किया गया"});
  EXPECT_EQ(current[0].amountLost, "45000.00");
  EXPECT_EQ(current[1].station, "ps.samastipur.rosera");
  EXPECT_EQ(current[1].versions, 1);
}

TEST_F(SinkTest, SameCreatedTimeTheLaterArrivalWinsAndARepeatedDeliveryIsStoredOnce) {
  StationRecordsConnector& c = start();
  Message a = record("ps.samastipur.nagar", "7/2026", "registered", "2026-09-15T10:00:00Z");
  Message b =
      record("ps.samastipur.nagar", "7/2026", "under_investigation", "2026-09-15T10:00:00Z");
  ASSERT_EQ(c.deliver(a).kind, DeliveryResult::Kind::Delivered);
  ASSERT_EQ(c.deliver(b).kind, DeliveryResult::Kind::Delivered);
  ASSERT_EQ(c.deliver(b).kind, DeliveryResult::Kind::Delivered);  // the core retried
  EXPECT_EQ(c.recordBook().history("ps.samastipur.nagar", "7/2026").size(), 2u);
  EXPECT_EQ(c.recordBook().current().at(0).status, "under_investigation");
}

TEST_F(SinkTest, RefusesOtherTypesAndSurvivesARestart) {
  StationRecordsConnector& c = start();
  Message other = record("cc.samastipur", "1/2026", "registered", "2026-09-15T10:00:00Z");
  other.type = "freeze.request";
  DeliveryResult r = c.deliver(other);
  EXPECT_EQ(r.kind, DeliveryResult::Kind::Reject);
  EXPECT_EQ(r.reason, "station_records keeps station.record only");
  ASSERT_EQ(
      c.deliver(record("ps.samastipur.nagar", "9/2026", "closed", "2026-09-15T10:00:00Z")).kind,
      DeliveryResult::Kind::Delivered);
  c.stop();
  connector_.reset();
  EXPECT_EQ(start().recordBook().current().size(), 1u);
}

}  // namespace
}  // namespace dx::station_records
