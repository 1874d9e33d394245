// A police station's own dxhub forwarding its records to the district hub: two real `dxhub
// serve` processes, the district down while the station files its export. The district's store
// is SQLite in one run and PostgreSQL in the other (the station keeps its SQLite file).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "clock.h"
#include "hub_process.h"
#include "jws.h"
#include "receipt.h"
#include "test_support.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;
using namespace Poco::Data::Keywords;

constexpr const char* kStation = "ps.samastipur.nagar";

// Case numbers of the station.records in cc.samastipur's inbox at `hub`, each with its count.
std::map<std::string, int> recordsAt(HubProcess& hub) {
  std::map<std::string, int> cases;
  std::string body =
      Client::as(hub.port(), "cc.samastipur").get("/v1/inbox?after=0&limit=1000").body;
  rapidjson::Document inbox;
  inbox.Parse(body.c_str(), body.size());
  if (!inbox.IsObject() || !inbox.HasMember("messages")) return cases;
  for (auto& m : inbox["messages"].GetArray()) {
    Expected<VerifiedMessage> v =
        verifyJws(m["jws"].GetString(), registry(), SystemClock::instance().unixSeconds());
    if (v && v->type() == "station.record" && v->from() == kStation)
      ++cases[v->envelope["body"]["case_no"].GetString()];
  }
  return cases;
}

class StationForwarding : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !pgServerUrl()) GTEST_SKIP() << pgSkipReason();
    db_ = std::make_unique<TestDatabase>(GetParam());
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(StationForwarding, RecordsFiledWhileTheDistrictIsDownArriveOnceWithReceiptsKept) {
  HubOptions districtOptions;
  districtOptions.storeUrl = db_->url();
  HubProcess district(districtOptions);  // not started yet: the station's uplink is down
  std::string dir = district.dir() + "/station";
  std::filesystem::create_directories(dir + "/inbox");
  HubOptions options;
  options.pluginsJson = R"([{"name": "station_records", "library": ")" +
                        std::string(DX_BINARY_DIR) + R"(/plugins/libdx_station_records.so",
    "acts_for": [")" + std::string(kStation) +
                        R"("],
    "config": {"stations": [{"id": ")" +
                        kStation + R"(", "inbox_dir": ")" + dir + R"(/inbox"}],
               "poll_ms": 200, "state_dir": ")" +
                        dir + R"(/state",
               "schemas": ")" +
                        DX_SOURCE_DIR + R"(/config/schemas",
               "forward_to": "https://127.0.0.1:)" +
                        std::to_string(district.port()) + R"(",
               "hub_cert": ")" +
                        testPki() + R"(/hub.samastipur.crt"}}])";
  HubProcess station(options);
  station.start();

  // The station's records software writes its export (and renames it into place).
  {
    std::ofstream out(dir + "/inbox/.export.part");
    out << "case_no,registered_on,category,sections,status,amount_lost,amount_frozen,"
           "amount_recovered,ncrp_ack,actions\n";
    for (int i = 1; i <= 5; ++i)
      out << 300 + i << "/2026,2026-10-0" << i << ",upi_fraud,BNS 318(4),registered," << 1000 * i
          << ".00,0.00,0.00,,\"statement recorded; bank informed\"\n";
  }
  std::filesystem::rename(dir + "/inbox/.export.part", dir + "/inbox/export.csv");

  // The file is taken and filed though the district is unreachable; the records wait.
  for (int i = 0; i < 100 && !std::filesystem::exists(dir + "/inbox/done/export.csv"); ++i)
    std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(std::filesystem::exists(dir + "/inbox/done/export.csv"));
  std::this_thread::sleep_for(1s);  // a few failed attempts

  district.start();
  std::map<std::string, int> arrived;
  for (int i = 0; i < 200 && arrived.size() < 5; ++i) {
    std::this_thread::sleep_for(100ms);
    arrived = recordsAt(district);
  }
  ASSERT_EQ(arrived.size(), 5u);
  for (const auto& [caseNo, count] : arrived) EXPECT_EQ(count, 1) << caseNo;

  // The station keeps the district's receipt for each record, and each one checks out.
  station.stop();
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session outbox("SQLite", dir + "/state/outbox.db");
  Poco::Data::Statement select(outbox);
  select << "SELECT state, receipt, receipt_check, message_id, digest FROM outbox", now;
  Poco::Data::RecordSet rows(select);
  ASSERT_EQ(rows.rowCount(), 5u);
  Certificate hub = Certificate::fromPemFile(testPki() + "/hub.samastipur.crt");
  for (std::size_t i = 0; i < rows.rowCount(); ++i) {
    EXPECT_EQ(rows.value(0, i).convert<std::string>(), "sent");
    std::string why;
    EXPECT_TRUE(checkReceipt(rows.value(1, i).convert<std::string>(), hub,
                             rows.value(3, i).convert<std::string>(),
                             rows.value(4, i).convert<std::string>(), why))
        << why;
  }
  // Dropping the same export again sends nothing more.
  station.start();
  std::filesystem::copy_file(dir + "/inbox/done/export.csv", dir + "/inbox/.again.part");
  std::filesystem::rename(dir + "/inbox/.again.part", dir + "/inbox/again.csv");
  for (int i = 0; i < 100 && !std::filesystem::exists(dir + "/inbox/done/again.csv"); ++i)
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(500ms);
  for (const auto& [caseNo, count] : recordsAt(district)) EXPECT_EQ(count, 1) << caseNo;
}

INSTANTIATE_TEST_SUITE_P(Backends, StationForwarding, ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx::test
