// The journal and the SQLite store together: group commit, dedupe, the audit chain, receipts,
// state changes, failures and restarts.
#include <atomic>
#include <thread>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/File.h>
#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>

#include "audit.h"
#include "journal.h"
#include "receipt.h"
#include "store.h"
#include "test_support.h"

namespace dx {
namespace {

using namespace Poco::Data::Keywords;

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
  void insertMessage(const MessageRecord& m) override {
    if (failInsert) throw StoreError("I/O error (test)");
    inner_.insertMessage(m);
  }
  void setState(const std::string& id, const std::string& s, const std::string& e) override {
    inner_.setState(id, s, e);
  }
  void setDelivery(const std::string& id, const std::string& s, int a, const std::string& e,
                   std::int64_t n) override {
    inner_.setDelivery(id, s, a, e, n);
  }
  std::vector<MessageRecord> pendingDeliveries(int limit) override {
    return inner_.pendingDeliveries(limit);
  }
  std::optional<MessageRecord> nextPendingFor(const std::string& r, std::int64_t a) override {
    return inner_.nextPendingFor(r, a);
  }
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
  std::vector<std::string> replies(const std::string& id) override { return inner_.replies(id); }
  void forEachAudit(const std::function<bool(const AuditEntry&)>& v) override {
    inner_.forEachAudit(v);
  }
  std::int64_t messageCount() override { return inner_.messageCount(); }

 private:
  Store& inner_;
};

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = Poco::TemporaryFile::tempName();
    Poco::File(dir_).createDirectories();
    open();
  }
  void TearDown() override {
    close();
    Poco::File(dir_).remove(true);
  }
  void open() {
    store_ = openStore("sqlite:" + dbPath());
    failing_ = std::make_unique<FailingStore>(*store_);
    journal_ = std::make_unique<Journal>(*failing_, hub_, clock_, metrics_);
  }
  void close() {
    journal_.reset();
    failing_.reset();
    store_.reset();
  }
  std::string dbPath() const { return dir_ + "/dxhub.db"; }

  static std::string request(const std::string& to = "bank.sbi") {
    return test::envelope("freeze.request", "cc.samastipur", to, test::example("freeze.request"),
                          {}, "31509260012345");
  }

  std::string dir_;
  Signer hub_ = test::signer("hub.samastipur");
  ManualClock clock_{std::chrono::system_clock::now()};
  Metrics metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<FailingStore> failing_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(JournalTest, AcceptedMessageIsStoredWithAVerifiableReceipt) {
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

TEST_F(JournalTest, SameMessageTwiceGivesTheStoredReceiptByteForByte) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  Journal::Result first = journal_->accept(m, "cc.samastipur");
  Journal::Result again = journal_->accept(m, "cc.samastipur");
  EXPECT_EQ(again.outcome, Journal::Outcome::Duplicate);
  EXPECT_EQ(again.receipt, first.receipt);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 1);
}

TEST_F(JournalTest, SameIdWithAnotherDigestIsAConflict) {
  std::string payload = request();
  VerifiedMessage m = test::verified("cc.samastipur", payload);
  journal_->accept(m, "cc.samastipur");
  std::string other = payload;
  other.replace(other.find("45000.00"), 8, "46000.00");
  EXPECT_EQ(journal_->accept(test::verified("cc.samastipur", other), "cc.samastipur").outcome,
            Journal::Outcome::Conflict);
}

TEST_F(JournalTest, ConcurrentSameMessageIsStoredOnceAndEveryoneGetsOneReceipt) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  std::vector<Journal::Result> results(8, {Journal::Outcome::Unavailable, {}, 0, {}});
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

TEST_F(JournalTest, ManyWritersShareCommitsAndTheChainStaysWhole) {
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

TEST_F(JournalTest, AnAnswerMarksItsRequestAnsweredInTheSameTransaction) {
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

TEST_F(JournalTest, RefusalsAndStateChangesAreChained) {
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

TEST_F(JournalTest, AFailedWriteStoresNothingAndGivesNoReceipt) {
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

TEST_F(JournalTest, EverythingSurvivesAReopen) {
  VerifiedMessage m = test::verified("cc.samastipur", request());
  Journal::Result r = journal_->accept(m, "cc.samastipur");
  close();
  open();  // migrations run again and find nothing to do
  EXPECT_EQ(journal_->accept(m, "cc.samastipur").receipt, r.receipt);
  EXPECT_EQ(store_->inbox("bank.sbi", 0, 10).size(), 1u);
  EXPECT_EQ(verifyAuditChain(*store_).entries, 1);
}

TEST_F(JournalTest, InboxIsOldestFirstAfterTheCursor) {
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

TEST_F(JournalTest, AuditVerifyNamesAnAlteredEntry) {
  for (int i = 0; i < 3; ++i)
    journal_->accept(test::verified("cc.samastipur", request()), "cc.samastipur");
  close();
  {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session s("SQLite", dbPath());
    s << "UPDATE audit SET outcome = 'accepted ' WHERE seq = 2", now;
  }
  open();
  AuditCheck check = verifyAuditChain(*store_);
  EXPECT_EQ(check.brokenSeq, 2);
  EXPECT_EQ(check.entries, 1);
}

TEST_F(JournalTest, DatabaseFileIsReadableOnlyByItsOwner) {
  struct stat st {};
  ASSERT_EQ(::stat(dbPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace dx
