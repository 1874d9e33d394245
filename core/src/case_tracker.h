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
//
// What a pass costs: the pipeline tells the tracker of each message it accepts, with the
// deadline of a request or notice computed from the envelope it has already parsed. A pass
// reads the new rows of the watched types narrowly (seq, id, state: Store::statesByType) and
// loads and parses a whole row only for a message it was not told of (accepted by another hub
// instance, or before a restart). The watched messages are kept in deadline order, so a pass
// looks only at those due. The store's state at the deadline decides (an answer through another
// instance counts).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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

// The respond-by (unix seconds) of a freeze.request or notice.awareness to `to`, from its
// envelope, or 0 when it has none: a request's own respond_by, else its bank's window after it
// was accepted (`acceptedAt()`, asked only then); a notice's respond_by date, to the end of that
// day in India (+05:30).
std::int64_t deadlineOf(const HubConfig& config, std::string_view type, const std::string& to,
                        const rapidjson::Value& envelope,
                        const std::function<std::int64_t()>& acceptedAt);
// The same for a stored message.
std::int64_t deadlineOf(const MessageRecord& message, const HubConfig& config);

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
  // The pipeline accepted a message (its tracking callback; on the accepting thread): a request
  // or notice is watched from the next pass, its answer stops the watch, and a response may call
  // for chasing.
  void accepted(const Pipeline::Accepted& message);
  // One pass (what the thread does each second); public so tests can drive it with their clock.
  void tick();
  // For tests: the deadline the tracker watches `id` for, if it does; and how many whole rows
  // its passes have loaded and parsed (messages the pipeline did not tell it of).
  std::optional<std::int64_t> watching(const std::string& id);
  std::int64_t rowsParsed();

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
  void watch(const std::string& id, std::int64_t deadline);
  void unwatch(const std::string& id);
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
  std::mutex mutex_;      // guards stopping_, toChase_, told_ and answered_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::set<std::string> toChase_;  // cases with a response not yet chased
  // What the pipeline told of since the last pass: requests and notices, and what was answered.
  struct Told {
    std::string type, id;
    std::int64_t seq, deadline;
  };
  std::vector<Told> told_;
  std::vector<std::string> answered_;
  // Below: the pass's own (under tickMutex_).
  bool caughtUp_ = false;
  // Told of, its row not yet read by a pass: type → seq → what was told.
  std::map<std::string, std::map<std::int64_t, Told>> known_;
  std::map<std::string, std::int64_t> watched_;  // unanswered request or notice → deadline
  // The same in deadline order (the id is watched_'s key: a map's keys stay where they are).
  std::set<std::pair<std::int64_t, const std::string*>> due_;
  std::map<std::string, std::int64_t> cursors_;  // type → last seq looked at
  std::int64_t rowsParsed_ = 0;
  std::mutex indexMutex_;                                        // guards the account index
  std::map<std::string, std::set<std::string>> casesByAccount_;  // "number/ifsc" → cases
  std::int64_t accountCursor_ = 0;
  std::thread thread_;
};

}  // namespace dx
