// The journal and the store together, on each back end (SQLite and PostgreSQL): group commit,
// dedupe, the audit chain, receipts, state changes, failures and restarts.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include <sys/resource.h>

#include <gtest/gtest.h>

#include "audit.h"
#include "journal.h"
#include "receipt.h"
#include "store.h"
#include "test_support.h"

namespace dx {
namespace {

// A store that fails on demand, as a full disk would, to prove nothing half-written remains.
class FailingStore : public Store {
 public:
  explicit FailingStore(Store& inner) : inner_(inner) {}
  std::atomic<bool> failInsert{false}, failCommit{false};
  void begin() override { inner_.begin(); }
  void commit() override {
    if (failCommit) throw StoreError("disk full (test)");
    inner_.commit();
  }
  void rollback() override { inner_.rollback(); }
  AuditHead auditHead() override { return inner_.auditHead(); }
  void appendAudit(const AuditEntry& e) override { inner_.appendAudit(e); }
  bool insertMessage(const MessageRecord& m) override {
    if (failInsert) throw StoreError("I/O error (test)");
    return inner_.insertMessage(m);
  }
  bool claimDelivery(const std::string& id, const std::string& owner, std::int64_t now,
                     std::int64_t until) override {
    return inner_.claimDelivery(id, owner, now, until);
  }
  void setState(const std::string& id, const std::string& s, const std::string& e) override {
    inner_.setState(id, s, e);
  }
  void setDelivery(const std::string& id, const std::string& s, int a, const std::string& e,
                   std::int64_t n) override {
    inner_.setDelivery(id, s, a, e, n);
  }
  std::vector<std::string> pendingRecipients() override { return inner_.pendingRecipients(); }
  std::vector<MessageRecord> pendingFor(const std::string& r, int limit) override {
    return inner_.pendingFor(r, limit);
  }
  std::optional<MessageRecord> nextPendingFor(const std::string& r, std::int64_t a) override {
    return inner_.nextPendingFor(r, a);
  }
  void setEscalated(const std::string& id) override { inner_.setEscalated(id); }
  std::optional<std::pair<std::string, std::string>> writerFindDigest(
      const std::string& id) override {
    return inner_.writerFindDigest(id);
  }
  std::optional<MessageRecord> find(const std::string& id) override { return inner_.find(id); }
  std::vector<MessageRecord> inbox(const std::string& r, std::int64_t a, int l) override {
    return inner_.inbox(r, a, l);
  }
  std::vector<MessageRecord> byCase(const std::string& c) override { return inner_.byCase(c); }
  std::vector<MessageRecord> byType(const std::string& t, std::int64_t a, int l) override {
    return inner_.byType(t, a, l);
  }
  std::vector<MessageRecord> statesByType(const std::string& t, std::int64_t a, int l) override {
    return inner_.statesByType(t, a, l);
  }
  std::vector<std::string> replies(const std::string& id) override { return inner_.replies(id); }
  void forEachAudit(const std::function<bool(const AuditEntry&)>& v) override {
    inner_.forEachAudit(v);
  }
  std::int64_t messageCount() override { return inner_.messageCount(); }
  std::vector<MessageRecord> deadWithoutEscalation(std::int64_t a, int l) override {
    return inner_.deadWithoutEscalation(a, l);
  }
  void ping() override { inner_.ping(); }

 private:
  Store& inner_;
};

class JournalTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql" && !test::pgServerUrl()) GTEST_SKIP() << test::pgSkipReason();
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    open();
  }
  void TearDown() override {
    close();
    db_.reset();
  }
  void open() {
    store_ = openStore(db_->url());
    failing_ = std::make_unique<FailingStore>(*store_);
    journal_ = std::make_unique<Journal>(*failing_, hub_, clock_, metrics_);
  }
  void close() {
    journal_.reset();
    failing_.reset();
    store_.reset();
  }

  static std::string request(const std::string& to = "bank.sbi") {
    return test::envelope("freeze.request", "cc.samastipur", to, test::example("freeze.request"),
                          {}, "31509260012345");
  }

  std::unique_ptr<test::TestDatabase> db_;
  Signer hub_ = test::signer("hub.samastipur");
  ManualClock clock_{std::chrono::system_clock::now()};
  Metrics metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<FailingStore> failing_;
  std::unique_ptr<Journal> journal_;
};

// SQLite copies its WAL into the database on a thread of its own (wal_checkpointer.h); under
// steady writes from many threads the WAL must still start again from its beginning rather than
// grow with every message: 2000 messages are about 6000 pages (24 MiB) of WAL without that.
TEST(SqliteWalTest, StaysBoundedUnderSteadyWrites) {
  test::TestDatabase db("sqlite");
  std::unique_ptr<Store> store = openStore(db.url());
  Signer hub = test::signer("hub.samastipur");
  ManualClock clock{std::chrono::system_clock::now()};
  Metrics metrics;
  Journal journal(*store, hub, clock, metrics);
  constexpr int kThreads = 8, kEach = 250;
  std::vector<VerifiedMessage> messages;
  for (int i = 0; i < kThreads * kEach; ++i)
    messages.push_back(test::verified(
        "cc.samastipur", test::envelope("freeze.request", "cc.samastipur", "bank.sbi",
                                        test::example("freeze.request"), {}, "31509260012345")));
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < kThreads * kEach; i += kThreads)
        accepted +=
            journal.accept(messages[i], "cc.samastipur").outcome == Journal::Outcome::Accepted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted, kThreads * kEach);
  std::string wal = db.url().substr(std::string("sqlite:").size()) + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_LT(std::filesystem::file_size(wal), 14u << 20);
}

TEST_P(JournalTest, AcceptedMessageIsStoredWithAVerifiableReceipt) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  Journal::Result r = journal_->accept(m, "cc.samastipur");
  ASSERT_EQ(r.outcome, Journal::Outcome::Accepted) << r.detail;
  std::string why;
  std::optional<ReceiptFacts> facts =
      checkReceipt(r.receipt, hub_.certificate(), m.id(), m.digest, why);
  ASSERT_TRUE(facts) << why;
  EXPECT_EQ(facts->auditSeq, 1);
  std::optional<MessageRecord> stored = store_->find(std::string(m.id()));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->jws, m.jws);
  EXPECT_EQ(stored->receipt, r.receipt);
  EXPECT_EQ(stored->state, "accepted");
  EXPECT_EQ(stored->to, "bank.sbi");
  AuditCheck check = verifyAuditChain(*store_);
  EXPECT_EQ(check.entries, 1);
  EXPECT_EQ(check.head, facts->auditHash);
}

TEST_P(JournalTest, SameMessageTwiceGivesTheStoredReceiptByteForByte) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  Journal::Result first = journal_->accept(m, "cc.samastipur");
  Journal::Result again = journal_->accept(m, "cc.samastipur");
  EXPECT_EQ(again.outcome, Journal::Outcome::Duplicate);
  EXPECT_EQ(again.receipt, first.receipt);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 1);
}

TEST_P(JournalTest, SameIdWithAnotherDigestIsAConflict) {
  std::string payload = request();
  VerifiedMessage m = test::verified("cc.samastipur", payload);
  journal_->accept(m, "cc.samastipur");
  std::string other = payload;
  other.replace(other.find("45000.00"), 8, "46000.00");
  EXPECT_EQ(journal_->accept(test::verified("cc.samastipur", other), "cc.samastipur").outcome,
            Journal::Outcome::Conflict);
}

TEST_P(JournalTest, ConcurrentSameMessageIsStoredOnceAndEveryoneGetsOneReceipt) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  std::vector<Journal::Result> results(8, {Journal::Outcome::Unavailable, {}, 0, {}, {}});
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = journal_->accept(m, "cc.samastipur"); });
  for (auto& t : threads) t.join();
  int accepted = 0;
  for (auto& r : results) {
    accepted += r.outcome == Journal::Outcome::Accepted;
    EXPECT_NE(r.outcome, Journal::Outcome::Conflict);
    EXPECT_EQ(r.receipt, results[0].receipt);
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(store_->messageCount(), 1);
}

TEST_P(JournalTest, ManyWritersShareCommitsAndTheChainStaysWhole) {
  constexpr int kThreads = 16, kEach = 20;
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        if (journal_->accept(test::verified("cc.samastipur", request()), "cc.samastipur").outcome ==
            Journal::Outcome::Accepted)
          ++accepted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted, kThreads * kEach);
  AuditCheck check = verifyAuditChain(*store_);
  EXPECT_EQ(check.entries, kThreads * kEach);
  EXPECT_EQ(check.brokenSeq, 0);
  // Group commit: the writes of 16 concurrent writers went out in fewer transactions than
  // messages (the batch-size histogram counts one observation per commit).
  std::string metrics = metrics_.render();
  auto at = metrics.find("dxhub_store_commit_batch_count ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stoi(metrics.substr(at + 31)), kThreads * kEach);
}

TEST_P(JournalTest, AnAnswerMarksItsRequestAnsweredInTheSameTransaction) {
  VerifiedMessage req = test::verified("cc.samastipur", request());
  journal_->accept(req, "cc.samastipur");
  VerifiedMessage resp =
      test::verified("bank.sbi", test::envelope("freeze.response", "bank.sbi", "cc.samastipur",
                                                test::example("freeze.response"),
                                                std::string(req.id()), "31509260012345"));
  EXPECT_EQ(journal_->accept(resp, "bank.sbi", std::string(req.id())).outcome,
            Journal::Outcome::Accepted);
  EXPECT_EQ(store_->find(std::string(req.id()))->state, "answered");
  EXPECT_EQ(store_->replies(std::string(req.id())),
            std::vector<std::string>{std::string(resp.id())});
  EXPECT_EQ(verifyAuditChain(*store_).entries, 3);  // request, response, state change
}

// The case tracker follows new requests by their type's narrow rows, and finds what the pipeline
// told it of by the seq the journal gave.
TEST_P(JournalTest, TypeStatesAreTheRowsOfThatTypeWithSeqIdAndStateOnly) {
  VerifiedMessage a = test::verified("cc.samastipur", request());
  VerifiedMessage b = test::verified("cc.samastipur", request());
  Journal::Result ra = journal_->accept(a, "cc.samastipur");
  Journal::Result rb = journal_->accept(b, "cc.samastipur");
  VerifiedMessage resp =
      test::verified("bank.sbi", test::envelope("freeze.response", "bank.sbi", "cc.samastipur",
                                                test::example("freeze.response"),
                                                std::string(a.id()), "31509260012345"));
  journal_->accept(resp, "bank.sbi", std::string(a.id()));

  std::vector<MessageRecord> whole = store_->byType("freeze.request", 0, -1);
  std::vector<MessageRecord> narrow = store_->statesByType("freeze.request", 0, -1);
  ASSERT_EQ(narrow.size(), 2u) << "the requests, not the response";
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t i = 0; i < narrow.size(); ++i) {
    EXPECT_EQ(narrow[i].seq, whole[i].seq);
    EXPECT_EQ(narrow[i].id, whole[i].id);
    EXPECT_EQ(narrow[i].state, whole[i].state);
    EXPECT_TRUE(narrow[i].jws.empty());
    EXPECT_TRUE(narrow[i].to.empty());
  }
  EXPECT_EQ(narrow[0].id, a.id());
  EXPECT_EQ(narrow[0].state, "answered");
  EXPECT_EQ(narrow[1].state, "accepted");
  EXPECT_EQ(narrow[0].seq, ra.seq) << "the journal's seq is the row's";
  EXPECT_EQ(narrow[1].seq, rb.seq);

  std::vector<MessageRecord> after = store_->statesByType("freeze.request", ra.seq, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, b.id());
  EXPECT_TRUE(store_->statesByType("freeze.request", rb.seq, 10).empty());
}

TEST_P(JournalTest, RefusalsAndStateChangesAreChained) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  journal_->accept(m, "cc.samastipur");
  EXPECT_TRUE(journal_->record({0,
                                {},
                                "refused",
                                "x",
                                "",
                                "bank.pnb",
                                "cc.samastipur",
                                "freeze.response",
                                "forbidden",
                                "bank.pnb",
                                {}}));
  EXPECT_TRUE(journal_->record({0,
                                {},
                                "state",
                                std::string(m.id()),
                                m.digest,
                                "cc.samastipur",
                                "bank.sbi",
                                "freeze.request",
                                "delivered (inbox ack)",
                                "bank.sbi",
                                {}},
                               "delivered"));
  EXPECT_EQ(store_->find(std::string(m.id()))->state, "delivered");
  std::vector<AuditEntry> entries;
  store_->forEachAudit([&](const AuditEntry& e) {
    entries.push_back(e);
    return true;
  });
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].event, "refused");
  EXPECT_EQ(entries[1].outcome, "forbidden");
  EXPECT_EQ(entries[1].client, "bank.pnb");
  EXPECT_EQ(verifyAuditChain(*store_).brokenSeq, 0);
}

TEST_P(JournalTest, AFailedWriteStoresNothingAndGivesNoReceipt) {
  journal_->accept(test::verified("cc.samastipur", request()), "cc.samastipur");
  VerifiedMessage m = test::verified("cc.samastipur", request());
  failing_->failInsert = true;
  Journal::Result r = journal_->accept(m, "cc.samastipur");
  EXPECT_EQ(r.outcome, Journal::Outcome::Unavailable);
  EXPECT_TRUE(r.receipt.empty());
  failing_->failInsert = false;
  failing_->failCommit = true;
  EXPECT_EQ(journal_->accept(m, "cc.samastipur").outcome, Journal::Outcome::Unavailable);
  failing_->failCommit = false;
  EXPECT_FALSE(store_->find(std::string(m.id())));
  EXPECT_EQ(verifyAuditChain(*store_).entries, 1);  // no half-written audit entry either
  // And it recovers by itself once the store works again.
  EXPECT_EQ(journal_->accept(m, "cc.samastipur").outcome, Journal::Outcome::Accepted);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 2);
}

TEST_P(JournalTest, EverythingSurvivesAReopen) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  Journal::Result r = journal_->accept(m, "cc.samastipur");
  close();
  open();  // migrations run again and find nothing to do
  EXPECT_EQ(journal_->accept(m, "cc.samastipur").receipt, r.receipt);
  EXPECT_EQ(store_->inbox("bank.sbi", 0, 10).size(), 1u);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 1);
}

// Migration 9 records a dead message's delivery_failed escalation on the message. Messages dead
// before it keep the rule the sweep had: any escalation to their sender counts.
TEST_P(JournalTest, MessagesDeadBeforeMigrationNineKeepTheRuleTheyHad) {
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    VerifiedMessage m = test::verified("cc.samastipur", request());
    ASSERT_EQ(journal_->accept(m, "cc.samastipur").outcome, Journal::Outcome::Accepted);
    ids.emplace_back(m.id());
    ASSERT_TRUE(journal_->record(
        {0, {}, "dead", ids.back(), "", "cc.samastipur", "bank.sbi", "freeze.request", "dead", "",
         {}},
        "dead"));
  }
  VerifiedMessage escalation = test::verified(
      "hub.samastipur",
      test::envelope("hub.escalation", "hub.samastipur", "cc.samastipur",
                     R"({"reason":"delivery_failed","message":")" + ids[0] + R"(","detail":"x"})",
                     ids[0]));
  ASSERT_EQ(journal_->accept(escalation, "").outcome, Journal::Outcome::Accepted);
  close();
  // The store as version 8 left it.
  db_->execute("DROP INDEX messages_dead");
  db_->execute("ALTER TABLE messages DROP COLUMN escalated");
  db_->execute("CREATE INDEX messages_dead ON messages (seq) WHERE state = 'dead'");
  db_->execute("DELETE FROM schema_migrations WHERE version = 9");
  open();
  std::vector<MessageRecord> dead = store_->deadWithoutEscalation(0, 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, ids[1]);
  journal_->write([&](Journal::Transaction& tx) { tx.store.setEscalated(ids[1]); });
  EXPECT_TRUE(store_->deadWithoutEscalation(0, 10).empty());
}

TEST_P(JournalTest, InboxIsOldestFirstAfterTheCursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    VerifiedMessage m = test::verified("cc.samastipur", request(i % 2 ? "bank.pnb" : "bank.sbi"));
    journal_->accept(m, "cc.samastipur");
    if (i % 2 == 0) ids.emplace_back(m.id());
  }
  std::vector<MessageRecord> sbi = store_->inbox("bank.sbi", 0, 10);
  ASSERT_EQ(sbi.size(), 3u);
  for (std::size_t i = 0; i < sbi.size(); ++i) EXPECT_EQ(sbi[i].id, ids[i]);
  std::vector<MessageRecord> rest = store_->inbox("bank.sbi", sbi[0].seq, 1);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, ids[1]);
}

TEST_P(JournalTest, AuditVerifyNamesAnAlteredEntry) {
  for (int i = 0; i < 3; ++i)
    journal_->accept(test::verified("cc.samastipur", request()), "cc.samastipur");
  close();
  db_->execute("UPDATE audit SET outcome = 'accepted ' WHERE seq = 2");
  open();
  AuditCheck check = verifyAuditChain(*store_);
  EXPECT_EQ(check.brokenSeq, 2);
  EXPECT_EQ(check.entries, 1);
}

TEST_P(JournalTest, TwoInstancesOnOneDatabaseStoreEachIdOnceAndKeepOneChain) {
  // A second store and journal on the same database: another hub instance.
  std::unique_ptr<Store> otherStore = openStore(db_->url());
  Metrics otherMetrics;
  Journal other(*otherStore, hub_, clock_, otherMetrics);
  std::vector<VerifiedMessage> messages;
  for (int i = 0; i < 40; ++i) messages.push_back(test::verified("cc.samastipur", request()));
  // Both instances get every message, at the same time: each is stored once, and every caller
  // gets the one receipt.
  std::vector<Journal::Result> here(messages.size(),
                                    {Journal::Outcome::Unavailable, {}, 0, {}, {}});
  std::vector<Journal::Result> there = here;
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    threads.emplace_back([&, i] { here[i] = journal_->accept(messages[i], "cc.samastipur"); });
    threads.emplace_back([&, i] { there[i] = other.accept(messages[i], "cc.samastipur"); });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(here[i].receipt, there[i].receipt) << i;
    EXPECT_EQ((here[i].outcome == Journal::Outcome::Accepted) +
                  (there[i].outcome == Journal::Outcome::Accepted),
              1)
        << i;
  }
  EXPECT_EQ(store_->messageCount(), 40);
  AuditCheck check = verifyAuditChain(*store_);
  EXPECT_EQ(check.entries, 40);
  EXPECT_EQ(check.brokenSeq, 0) << check.why;
}

TEST_P(JournalTest, AConflictingIdInABatchLeavesTheRestOfTheBatchStored) {
  std::string payload = request();
  VerifiedMessage first = test::verified("cc.samastipur", payload);
  std::string altered = payload;
  altered.replace(altered.find("45000.00"), 8, "46000.00");
  VerifiedMessage conflicting = test::verified("cc.samastipur", altered);
  std::vector<VerifiedMessage> others;
  for (int i = 0; i < 20; ++i) others.push_back(test::verified("cc.samastipur", request()));
  // Everything at once, so that the conflict shares group commits with the others.
  std::vector<Journal::Outcome> outcomes(others.size() + 2, Journal::Outcome::Unavailable);
  std::vector<std::thread> threads;
  threads.reserve(outcomes.size());
  threads.emplace_back([&] { outcomes[0] = journal_->accept(first, "cc.samastipur").outcome; });
  threads.emplace_back(
      [&] { outcomes[1] = journal_->accept(conflicting, "cc.samastipur").outcome; });
  for (std::size_t i = 0; i < others.size(); ++i)
    threads.emplace_back(
        [&, i] { outcomes[i + 2] = journal_->accept(others[i], "cc.samastipur").outcome; });
  for (auto& t : threads) t.join();
  // One of the two with the same id is stored, the other is a conflict; the rest all stored.
  EXPECT_EQ(
      (outcomes[0] == Journal::Outcome::Accepted) + (outcomes[1] == Journal::Outcome::Accepted), 1);
  EXPECT_EQ(
      (outcomes[0] == Journal::Outcome::Conflict) + (outcomes[1] == Journal::Outcome::Conflict), 1);
  for (std::size_t i = 2; i < outcomes.size(); ++i)
    EXPECT_EQ(outcomes[i], Journal::Outcome::Accepted) << i;
  EXPECT_EQ(store_->messageCount(), 21);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 21);
}

// What the delivery scheduler reads: who has deliveries waiting, and each one's oldest first.
// A message for the inbox (no connector) and a delivered one are not waiting.
TEST_P(JournalTest, PendingDeliveriesAreListedByRecipientOldestFirst) {
  std::vector<std::string> ids;
  for (const char* to : {"bank.sbi", "bank.pnb", "bank.sbi", "bank.sbi"}) {
    VerifiedMessage m = test::verified("cc.samastipur", request(to));
    ASSERT_EQ(journal_->accept(m, "cc.samastipur", {}, "probe").outcome,
              Journal::Outcome::Accepted);
    ids.emplace_back(m.id());
  }
  VerifiedMessage inbox = test::verified("cc.samastipur", request("bank.hdfc"));
  ASSERT_EQ(journal_->accept(inbox, "cc.samastipur").outcome, Journal::Outcome::Accepted);

  std::vector<std::string> recipients = store_->pendingRecipients();
  std::sort(recipients.begin(), recipients.end());
  EXPECT_EQ(recipients, (std::vector<std::string>{"bank.pnb", "bank.sbi"}));
  std::vector<MessageRecord> sbi = store_->pendingFor("bank.sbi", 2);
  ASSERT_EQ(sbi.size(), 2u);
  EXPECT_EQ(sbi[0].id, ids[0]);
  EXPECT_EQ(sbi[1].id, ids[2]);
  EXPECT_EQ(sbi[0].connector, "probe");

  ASSERT_TRUE(journal_->write(
      [&](Journal::Transaction& tx) { tx.store.setDelivery(ids[1], "delivered", 1, "", 0); }));
  EXPECT_EQ(store_->pendingRecipients(), std::vector<std::string>{"bank.sbi"});
  EXPECT_TRUE(store_->pendingFor("bank.pnb", 10).empty());
}

// Claims are the PostgreSQL back end's: one instance at a time works a delivery.
TEST_P(JournalTest, ADeliveryIsClaimedByOneInstanceUntilItsLeaseEnds) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  ASSERT_EQ(journal_->accept(m, "cc.samastipur", {}, "probe").outcome, Journal::Outcome::Accepted);
  const std::string id(m.id());
  if (GetParam() == "sqlite") {
    // One process: the delivery engine's own bookkeeping is the claim (store.h).
    EXPECT_TRUE(store_->claimDelivery(id, "a", 1000, 2000));
    EXPECT_TRUE(store_->claimDelivery(id, "b", 1000, 2000));
    return;
  }
  std::unique_ptr<Store> other = openStore(db_->url());
  EXPECT_TRUE(store_->claimDelivery(id, "a", 1000, 2000));
  EXPECT_FALSE(other->claimDelivery(id, "b", 1500, 2500));  // a holds it
  EXPECT_TRUE(store_->claimDelivery(id, "a", 1500, 3000));  // a may extend its own
  EXPECT_EQ(other->pendingRecipients(), std::vector<std::string>{"bank.sbi"});
  std::vector<MessageRecord> pending = other->pendingFor("bank.sbi", 10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].leaseOwner, "a");
  EXPECT_EQ(pending[0].leaseUntil, 3000);
  EXPECT_TRUE(other->claimDelivery(id, "b", 3000, 4000));  // a's lease ended: b takes over
  EXPECT_FALSE(store_->claimDelivery(id, "a", 3500, 4500));
  // The outcome's write ends the lease; a delivered message is nobody's to claim.
  ASSERT_TRUE(journal_->write(
      [&](Journal::Transaction& tx) { tx.store.setDelivery(id, "delivering", 1, "retry", 0); }));
  EXPECT_TRUE(store_->claimDelivery(id, "a", 3500, 4500));
  ASSERT_TRUE(journal_->write(
      [&](Journal::Transaction& tx) { tx.store.setDelivery(id, "delivered", 2, "", 0); }));
  EXPECT_FALSE(other->claimDelivery(id, "b", 9000, 10000));
  EXPECT_TRUE(other->pendingFor("bank.sbi", 10).empty());
  EXPECT_TRUE(other->pendingRecipients().empty());
}

// The journal's thread, found by its name: what favoured() says must be what the kernel has.
TEST_P(JournalTest, ItsThreadRunsAtTheNicenessItReports) {
  std::map<std::string, int> nice = test::nicenessByThread();
  ASSERT_TRUE(nice.count("dx-journal")) << "no thread named dx-journal";
  int own = getpriority(PRIO_PROCESS, 0);  // this thread's: the process's own
  EXPECT_EQ(nice["dx-journal"], own + (journal_->favoured() ? Journal::kNiceness : 0));
}

// A PostgreSQL server may drop the hub's connections (restart, failover, an administrator):
// the store opens new ones and carries on.
class ReconnectTest : public JournalTest {};

TEST_P(ReconnectTest, AfterTheServerDropsEveryConnectionTheStoreCarriesOn) {
  VerifiedMessage before = test::verified("cc.samastipur", request());
  ASSERT_EQ(journal_->accept(before, "cc.samastipur").outcome, Journal::Outcome::Accepted);
  db_->execute(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
      " current_database() AND pid <> pg_backend_pid()");
  VerifiedMessage after = test::verified("cc.samastipur", request());
  Journal::Result r = journal_->accept(after, "cc.samastipur");
  EXPECT_EQ(r.outcome, Journal::Outcome::Accepted) << r.detail;
  ASSERT_TRUE(store_->find(std::string(after.id())));
  EXPECT_EQ(store_->find(std::string(before.id()))->receipt,
            journal_->accept(before, "cc.samastipur").receipt);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 2);
}

INSTANTIATE_TEST_SUITE_P(Postgres, ReconnectTest, ::testing::Values("postgresql"),
                         [](const auto& info) { return info.param; });

TEST(StoreUrlTest, BadUrlsAreRefusedWithTheirReasonAndNeverThePassword) {
  auto failure = [](const std::string& url) {
    try {
      openStore(url);
    } catch (const StoreError& e) {
      return std::string(e.what());
    }
    return std::string("opened");
  };
  EXPECT_NE(failure("mysql://hub@127.0.0.1/dx").find("not supported"), std::string::npos);
  EXPECT_NE(failure("postgresql://hub@127.0.0.1/").find("must name a host and a database"),
            std::string::npos);
  // Nothing listens on port 1: the connection fails, and the error names the URL without the
  // password.
  std::string refused = failure("postgresql://hub:s3cr3t-pw@127.0.0.1:1/dx?connect_timeout=2");
  EXPECT_NE(refused.find("cannot open store postgresql://hub:***@127.0.0.1:1/dx"),
            std::string::npos)
      << refused;
  EXPECT_EQ(refused.find("s3cr3t-pw"), std::string::npos) << refused;
}

TEST(SqliteStoreTest, DatabaseFileIsReadableOnlyByItsOwner) {
  test::TestDatabase db("sqlite");
  std::unique_ptr<Store> store = openStore(db.url());
  struct stat st {};
  ASSERT_EQ(::stat(db.url().substr(7).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalTest, ::testing::ValuesIn(test::storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx
