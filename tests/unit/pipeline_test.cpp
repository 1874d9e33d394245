// The pipeline's dedupe, on each store back end: a message sent again gets its original receipt,
// whatever the checks after the dedupe would now say of it; another message under a stored id is
// a conflict. For the hub's own messages, an escalation (or any message the hub signs itself)
// whose id is already stored is "already done", so that several hub instances noticing the same
// thing send it once.
#include <gtest/gtest.h>

#include "clock.h"
#include "hub.h"
#include "journal.h"
#include "pipeline.h"
#include "test_support.h"

namespace dx {
namespace {

class DedupeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !test::pgServerUrl()) GTEST_SKIP() << test::pgSkipReason();
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    store_ = openStore(db_->url());
    journal_ = std::make_unique<Journal>(*store_, hub_, clock_, metrics_);
    pipeline_ = std::make_unique<Pipeline>(config_, test::registry(), policy_, validator_, *store_,
                                           *journal_, clock_, metrics_);
  }
  void TearDown() override {
    pipeline_.reset();
    journal_.reset();
    store_.reset();
    db_.reset();
  }

  // The hub's escalation about `about`, signed now with `detail`.
  std::string escalation(const MessageRecord& about, const std::string& detail) {
    return hub_.sign(escalationPayload(escalationId(about), "hub.samastipur", "cc.samastipur",
                                       about, "delivery_failed", detail,
                                       SystemClock::instance().unixSeconds()));
  }
  // As the delivery engine names it: one per message, reason and recipient.
  static std::string escalationId(const MessageRecord& about) {
    return nameUuid("dx:escalation:delivery_failed:" + about.id + ":cc.samastipur");
  }

  ManualClock clock_{std::chrono::system_clock::now()};
  HubConfig config_ = loadConfig(test::writeConfig());
  Policy policy_ = Policy::load(config_.policyPath);
  MessageValidator validator_{config_.schemaDir};
  Signer hub_ = test::signer("hub.samastipur");
  Metrics metrics_;
  std::unique_ptr<test::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_P(DedupeTest, AnEscalationSentTwiceIsStoredOnceAndTheSecondIsAlreadyDone) {
  MessageRecord about;
  about.id = newUuid();
  about.from = "cc.samastipur";
  Outcome first = pipeline_->submit(escalation(about, "rejected by bank_freeze"), "");
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.messageId, escalationId(about));
  // Another instance notices the same dead message: other detail, so another digest; same id.
  Outcome again = pipeline_->submit(escalation(about, "gave up after 12 attempts"), "");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.code, "duplicate");
  EXPECT_EQ(again.body, first.body);  // the stored receipt
  EXPECT_EQ(store_->messageCount(), 1);
  // A participant reusing an id with other content is still a conflict.
  std::string payload = test::envelope("freeze.request", "cc.samastipur", "bank.sbi",
                                       test::example("freeze.request"), {}, "31509260012345");
  Signer cc = test::signer("cc.samastipur");
  ASSERT_EQ(pipeline_->submit(cc.sign(payload), "cc.samastipur").status, 202);
  std::string altered = payload;
  altered.replace(altered.find("45000.00"), 8, "46000.00");
  EXPECT_EQ(pipeline_->submit(cc.sign(altered), "cc.samastipur").code, "id_conflict");
}

TEST_P(DedupeTest, ARetryAfterItsTimeWindowGetsTheOriginalReceiptAndAnotherMessageAConflict) {
  std::string payload = test::envelope("freeze.request", "cc.samastipur", "bank.sbi",
                                       test::example("freeze.request"), {}, "31509260012345");
  Signer cc = test::signer("cc.samastipur");
  Outcome first = pipeline_->submit(cc.sign(payload), "cc.samastipur");
  ASSERT_EQ(first.status, 202) << first.body;
  // An hour on, the message is outside the ±300 s window, but a retry is still safe.
  clock_.advance(std::chrono::hours(1));
  Outcome again = pipeline_->submit(cc.sign(payload), "cc.samastipur");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.code, "duplicate");
  EXPECT_EQ(again.body, first.body);
  std::string altered = payload;
  altered.replace(altered.find("45000.00"), 8, "46000.00");
  EXPECT_EQ(pipeline_->submit(cc.sign(altered), "cc.samastipur").code, "id_conflict");
  // A new message from an hour ago is stale.
  std::string late = test::envelope("freeze.request", "cc.samastipur", "bank.sbi",
                                    test::example("freeze.request"), {}, "31509260012345");
  EXPECT_EQ(pipeline_->submit(cc.sign(late), "cc.samastipur").code, "stale");
  EXPECT_EQ(store_->messageCount(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, DedupeTest, ::testing::ValuesIn(test::storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx
