#include <gtest/gtest.h>

#include "policy.h"

namespace dx {
namespace {

const Policy& policy() {
  static const Policy p = Policy::load(std::string(DX_SOURCE_DIR) + "/config/policy.json");
  return p;
}

TEST(Policy, AllowsTheSixFlowsOfTheDesign) {
  EXPECT_TRUE(policy().find("station", "station.record", "cyber_cell"));
  EXPECT_TRUE(policy().find("station", "station.record", "sp_office"));
  EXPECT_TRUE(policy().find("cyber_cell", "freeze.request", "bank"));
  EXPECT_TRUE(policy().find("bank", "freeze.response", "cyber_cell"));
  EXPECT_TRUE(policy().find("cyber_cell", "freeze.release", "bank"));
  EXPECT_TRUE(policy().find("sp_office", "notice.awareness", "dm_office"));
  EXPECT_TRUE(policy().find("dm_office", "notice.ack", "sp_office"));
}

TEST(Policy, OnlyTheHubEscalates) {
  for (const char* role : {"cyber_cell", "sp_office", "station", "bank", "dm_office"})
    EXPECT_TRUE(policy().find("hub", "hub.escalation", role)) << role;
  EXPECT_FALSE(policy().find("cyber_cell", "hub.escalation", "bank"));
}

TEST(Policy, DeniesEverythingElse) {
  EXPECT_FALSE(policy().find("station", "freeze.request", "bank"));
  EXPECT_FALSE(policy().find("bank", "freeze.request", "bank"));
  EXPECT_FALSE(policy().find("cyber_cell", "freeze.request", "cyber_cell"));
  EXPECT_FALSE(policy().find("bank", "freeze.response", "sp_office"));
  EXPECT_FALSE(policy().find("dm_office", "notice.awareness", "sp_office"));
  EXPECT_FALSE(policy().find("cyber_cell", "hub.receipt", "bank"));
  EXPECT_FALSE(policy().find("hub", "hub.receipt", "cyber_cell"));  // receipts are answers, not messages
  EXPECT_FALSE(policy().find("bank", "hub.escalation", "cyber_cell"));
  EXPECT_FALSE(policy().find("station", "station.record", "bank"));
  EXPECT_FALSE(policy().find("", "", ""));
}

TEST(Policy, AnAnswerMustAnswerARequestSentToItsSender) {
  const PolicyRule* rule = policy().find("bank", "freeze.response", "cyber_cell");
  ASSERT_TRUE(rule);
  ReferencedMessage toSbi{"freeze.request", "cc.samastipur", "bank.sbi"};
  EXPECT_FALSE(Policy::checkRef(*rule, "bank.sbi", "cc.samastipur", toSbi));
  // Another bank answering the request sent to SBI.
  auto p = Policy::checkRef(*rule, "bank.pnb", "cc.samastipur", toSbi);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->code, "forbidden");
  // No such message, or a message of another type, are refused alike.
  EXPECT_TRUE(Policy::checkRef(*rule, "bank.sbi", "cc.samastipur", std::nullopt));
  EXPECT_TRUE(Policy::checkRef(*rule, "bank.sbi", "cc.samastipur",
                               ReferencedMessage{"freeze.release", "cc.samastipur", "bank.sbi"}));
}

TEST(Policy, AReleaseMustNameAHoldThatCyberCellAskedOfThatBank) {
  const PolicyRule* rule = policy().find("cyber_cell", "freeze.release", "bank");
  ASSERT_TRUE(rule);
  ReferencedMessage request{"freeze.request", "cc.samastipur", "bank.sbi"};
  EXPECT_FALSE(Policy::checkRef(*rule, "cc.samastipur", "bank.sbi", request));
  EXPECT_TRUE(Policy::checkRef(*rule, "cc.samastipur", "bank.pnb", request));
  EXPECT_TRUE(Policy::checkRef(*rule, "cc.other", "bank.sbi", request));
}

TEST(Policy, AnAckMustAnswerANoticeSentToThatDmOffice) {
  const PolicyRule* rule = policy().find("dm_office", "notice.ack", "sp_office");
  ASSERT_TRUE(rule);
  ReferencedMessage notice{"notice.awareness", "sp.samastipur", "dm.samastipur"};
  EXPECT_FALSE(Policy::checkRef(*rule, "dm.samastipur", "sp.samastipur", notice));
  EXPECT_TRUE(Policy::checkRef(*rule, "dm.darbhanga", "sp.samastipur", notice));
}

TEST(Policy, RulesWithoutRefNeedNone) {
  const PolicyRule* rule = policy().find("cyber_cell", "freeze.request", "bank");
  ASSERT_TRUE(rule);
  EXPECT_FALSE(Policy::checkRef(*rule, "cc.samastipur", "bank.sbi", std::nullopt));
}

}  // namespace
}  // namespace dx
