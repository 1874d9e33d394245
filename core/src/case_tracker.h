#pragma once
// Tracking what the hub has carried (DESIGN §5 "track"): freeze cases and their money trail,
// respond-by deadlines, and the chase of money that moved on.
//
// One thread looks every second (or at once when a response arrives):
//   - deadlines: a freeze.request without a freeze.response by its respond-by, or a
//     notice.awareness without a notice.ack by its respond_by date, makes the hub send a signed
//     hub.escalation (deadline_passed) to the sender — and, for a bank, to the bank's escalation
//     participant if the config names one;
//   - the chase: a response that lists transfers onward yields drafts of the next layer's
//     requests (chase.h); a cyber cell set to "auto" has them signed with its key and sent.
// Every message the tracker makes has an id derived from what it is about (nameUuid), so a
// restart, or a second hub instance on the same database, never sends it twice.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Logger.h>

#include "chase.h"
#include "clock.h"
#include "config.h"
#include "freeze_case.h"
#include "jws.h"
#include "pipeline.h"
#include "store.h"

namespace dx {

struct BankFigures {
  std::string bank;
  int requests = 0, answered = 0, inTime = 0, overdue = 0;
  std::int64_t medianSeconds = -1, p90Seconds = -1;  // time to respond; -1 when none answered
};

class CaseTracker {
 public:
  CaseTracker(const HubConfig& config, Store& store, Pipeline& pipeline, const Signer& hubSigner,
              const Clock& clock, Poco::Logger& log);
  ~CaseTracker();

  void start();  // the thread; the first pass also catches up on what arrived while stopped
  void stop();
  // The pipeline accepted a message of `type` in `caseId`: a response may call for chasing.
  void accepted(const std::string& type, const std::string& caseId);
  // One pass (what the thread does each second); public so tests can drive it with their clock.
  void tick();

  // The case as it stands; no requests when there is no such case.
  FreezeCase freezeCase(const std::string& caseId);
  std::vector<ChaseDraft> drafts(const std::string& caseId);
  // Signs the draft as its cyber cell and submits it; the outcome is the pipeline's (202 with the
  // receipt; 200 with the stored receipt when it was sent already), or a problem: not_found,
  // forbidden (`client` is not the draft's cyber cell), draft_not_pending (covered, or no bank
  // has its IFSC prefix), no_signing_key.
  Outcome approve(const std::string& caseId, const std::string& draftId, const std::string& client);
  std::vector<BankFigures> bankReport();

 private:
  void run();
  void watchNew();
  void checkDeadlines();
  void chase(const std::string& caseId);
  // Sends the hub's escalation unless it exists; true when it is stored.
  bool escalate(const MessageRecord& about, const std::string& to, const std::string& detail);
  Outcome send(const ChaseDraft& draft);
  void indexAccounts();

  const HubConfig& config_;
  Store& store_;
  Pipeline& pipeline_;
  const Signer& hubSigner_;
  const Clock& clock_;
  Poco::Logger& log_;
  std::map<std::string, std::unique_ptr<Signer>> cyberCellSigners_;

  std::mutex tickMutex_;  // one pass at a time
  std::mutex mutex_;      // guards stopping_ and toChase_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::set<std::string> toChase_;  // cases with a response not yet chased
  // Below: the pass's own (under tickMutex_).
  bool caughtUp_ = false;
  std::map<std::string, std::int64_t> watched_;  // unanswered request or notice → deadline
  std::map<std::string, std::int64_t> cursors_;  // type → last seq looked at
  std::mutex indexMutex_;                        // guards the account index
  std::map<std::string, std::set<std::string>> casesByAccount_;  // "number/ifsc" → cases
  std::int64_t accountCursor_ = 0;
  std::thread thread_;
};

}  // namespace dx
