// The district's case API (GET /v1/cases/{case}, its drafts and their approval, and
// GET /v1/reports/banks) against the real `dxhub serve` over mutual TLS.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "clock.h"
#include "envelope.h"
#include "hub_process.h"
#include "jws.h"

namespace dx::test {
namespace {

constexpr const char* kCase = "31509260012345";

class CaseApiTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  // Posts `body` as `from` to `to` over TLS with `from`'s certificate; returns the id.
  std::string post(const std::string& type, const std::string& from, const std::string& to,
                   const std::string& body, const std::string& ref = {}) {
    std::string payload = newEnvelope(type, from, to, body, ref, kCase);
    Signer signer =
        Signer::fromFiles(testPki() + "/" + from + ".key", testPki() + "/" + from + ".crt");
    Response r = Client::as(hub_.port(), from).post("/v1/messages", signer.sign(payload));
    EXPECT_EQ(r.status, 202) << r;
    rapidjson::Document d;
    d.Parse(payload.c_str());
    return d["id"].GetString();
  }
  rapidjson::Document getJson(const std::string& who, const std::string& path, int status = 200) {
    Response r = Client::as(hub_.port(), who).get(path);
    EXPECT_EQ(r.status, status) << path << ": " << r;
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    return d;
  }
  // SBI held 12,000 of the 45,000 and saw 18,000 leave for HDFC and 5,000 at an ATM.
  std::string layerOne() {
    std::string request = post(
        "freeze.request", "cc.samastipur", "bank.sbi",
        R"({"layer":1,"account":{"number":"30112233445","ifsc":"SBIN0001234"},"hold":"lien",)"
        R"("amount":"35000.00","transactions":[{"ref":"629812345678","amount":"35000.00",)"
        R"("at":"2026-10-06T10:02:11+05:30","channel":"UPI"}],"legal_basis":"BNSS 2023 s.106",)"
        R"("officer":{"name":"Duty Officer, Cyber Cell","rank":"Inspector",)"
        R"("phone":"+910000000000"},"respond_by":")" +
            formatRfc3339(SystemClock::instance().unixSeconds() + 3600) + "\"}");
    post("freeze.response", "bank.sbi", "cc.samastipur",
         R"({"status":"partially_held","held_amount":"12000.00","bank_ref":"SBI/CYB/1",)"
         R"("outflows":[{"kind":"transfer","amount":"18000.00","at":"2026-10-06T10:09:02+05:30",)"
         R"("ref":"629812399001","account":{"number":"50100011122","ifsc":"HDFC0000123"}},)"
         R"({"kind":"atm","amount":"5000.00","at":"2026-10-06T10:20:00+05:30"}]})",
         request);
    return request;
  }

  HubProcess hub_;
};

TEST_F(CaseApiTest, TheCyberCellAndTheSpSeeTheCaseTreeAndNobodyElseDoes) {
  std::string request = layerOne();
  rapidjson::Document c = getJson("cc.samastipur", std::string("/v1/cases/") + kCase);
  EXPECT_STREQ(c["totals"]["disputed"].GetString(), "35000.00");
  EXPECT_STREQ(c["totals"]["held"].GetString(), "12000.00");
  EXPECT_STREQ(c["totals"]["escaped"]["atm"].GetString(), "5000.00");
  ASSERT_EQ(c["requests"].Size(), 1u);
  EXPECT_EQ(c["requests"][0]["request"].GetString(), request);
  EXPECT_STREQ(c["requests"][0]["status"].GetString(), "partially_held");
  EXPECT_STREQ(c["requests"][0]["account"].GetString(), "XXXXXXX3445");

  getJson("sp.samastipur", std::string("/v1/cases/") + kCase);
  EXPECT_STREQ(getJson("bank.sbi", std::string("/v1/cases/") + kCase, 403)["code"].GetString(),
               "forbidden");
  EXPECT_STREQ(getJson("cc.samastipur", "/v1/cases/no-such-case", 404)["code"].GetString(),
               "not_found");
  Response anonymous = Client::anonymous(hub_.port()).get(std::string("/v1/cases/") + kCase);
  EXPECT_EQ(anonymous.status, 401) << anonymous;
}

TEST_F(CaseApiTest, ApprovingADraftSendsTheNextLayerToTheRightBankOnce) {
  layerOne();
  EXPECT_EQ(getJson("sp.samastipur", std::string("/v1/cases/") + kCase + "/drafts", 403)
                .HasMember("code"),
            true);
  rapidjson::Document d = getJson("cc.samastipur", std::string("/v1/cases/") + kCase + "/drafts");
  ASSERT_EQ(d["drafts"].Size(), 1u);
  const rapidjson::Value& draft = d["drafts"][0];
  EXPECT_STREQ(draft["status"].GetString(), "pending");
  EXPECT_STREQ(draft["bank"].GetString(), "bank.hdfc");
  EXPECT_STREQ(draft["amount"].GetString(), "18000.00");
  std::string id = draft["id"].GetString();
  std::string approve = std::string("/v1/cases/") + kCase + "/drafts/" + id + "/approve";

  Response first = Client::as(hub_.port(), "cc.samastipur").post(approve, "");
  EXPECT_EQ(first.status, 202) << first;
  Response again = Client::as(hub_.port(), "cc.samastipur").post(approve, "");
  EXPECT_EQ(again.status, 200) << again;
  EXPECT_EQ(again.body, first.body) << "the same request, the same receipt";
  EXPECT_EQ(Client::as(hub_.port(), "cc.samastipur").get(approve).status, 405);

  // HDFC finds it in its inbox, signed by the cyber cell.
  rapidjson::Document inbox = getJson("bank.hdfc", "/v1/inbox");
  ASSERT_EQ(inbox["messages"].Size(), 1u);
  EXPECT_EQ(inbox["messages"][0]["id"].GetString(), id);
  EXPECT_STREQ(inbox["messages"][0]["from"].GetString(), "cc.samastipur");
  rapidjson::Document c = getJson("cc.samastipur", std::string("/v1/cases/") + kCase);
  EXPECT_EQ(c["requests"][0]["children"][0]["request"].GetString(), id);
  EXPECT_STREQ(
      getJson("cc.samastipur", std::string("/v1/cases/") + kCase + "/drafts")["drafts"][0]["status"]
          .GetString(),
      "sent");
}

TEST_F(CaseApiTest, TheBankReportCountsRequestsAndAnswers) {
  layerOne();
  rapidjson::Document r = getJson("sp.samastipur", "/v1/reports/banks");
  bool sawSbi = false;
  for (const rapidjson::Value& b : r["banks"].GetArray()) {
    if (std::string(b["bank"].GetString()) != "bank.sbi") continue;
    sawSbi = true;
    EXPECT_EQ(b["requests"].GetInt(), 1);
    EXPECT_EQ(b["answered"].GetInt(), 1);
    EXPECT_EQ(b["answered_in_time"].GetInt(), 1);
    EXPECT_DOUBLE_EQ(b["share_in_time"].GetDouble(), 1.0);
    EXPECT_TRUE(b["median_seconds"].IsInt64());
  }
  EXPECT_TRUE(sawSbi);
  getJson("bank.sbi", "/v1/reports/banks", 403);
}

}  // namespace
}  // namespace dx::test
