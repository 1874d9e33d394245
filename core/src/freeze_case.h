#pragma once
// A freeze case: every freeze.* message with the same `case`, as a tree of layers. Layer 1 is the
// account the victim paid; a bank's response says what it held and where the rest went; each
// transfer onward is followed by a request at the next layer, and so on.
//
// Money is followed in time order: of what a request asked a bank to hold, what it held stays, and
// the rest is traced to the response's outflows by their time until it is used up. So an outflow's
// `traced` amount is the disputed money in it — what the next layer is asked to hold, or what
// escaped by ATM, AEPS or a merchant — and nothing is ever counted twice.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "money.h"
#include "store.h"

namespace dx {

struct Outflow {
  std::string kind;  // transfer, atm, aeps, merchant, other
  Paise amount = 0;
  Paise traced = 0;  // the disputed money in it
  std::string at, ref, accountNumber, ifsc, atmId, place;
  std::string chasedBy;  // the next-layer request asking the receiving account to hold it
};

struct FreezeAnswer {
  std::string id, status, bankRef, acceptedAt, remarks;
  Paise held = 0;
  std::vector<Outflow> outflows;
};

struct FreezeNode {
  std::string id, from, bank, accountNumber, ifsc, hold, legalBasis, officerJson, sentAt;
  std::string state;  // the request's delivery state in the store
  std::vector<std::string> transactionRefs;
  int layer = 1;
  Paise amount = 0, released = 0;
  std::int64_t sentUnix = 0, respondByUnix = 0;
  std::optional<FreezeAnswer> answer;  // the bank's latest response
  std::int64_t responseSeconds = -1;   // from the request's acceptance to the first response
  int responses = 0;
  std::string parent;  // the request whose response led here; "" for a root
  int parentOutflow = -1;
  bool overdue = false;                 // no response and its respond-by has passed
  std::vector<std::string> otherCases;  // other cases asking to hold the same account
  std::string statusText() const;       // the response's status, or awaiting / overdue
};

struct CaseTotals {
  Paise disputed = 0;  // asked at layer 1: what the victims lost
  Paise held = 0, released = 0, awaiting = 0;
  Paise atm = 0, aeps = 0, merchant = 0, other = 0;  // escaped, traced in time order
  Paise unanswered = 0;  // asked of banks whose respond-by passed without an answer
  Paise escaped() const { return atm + aeps + merchant + other + unanswered; }
};

struct FreezeCase {
  std::string caseId;
  std::vector<FreezeNode> requests;  // in acceptance order
  CaseTotals totals;
  int releases = 0;
  const FreezeNode* find(const std::string& id) const;
  // The request asking `accountNumber` at `ifsc` to hold the transaction `ref` (any, when ref is
  // empty), if there is one.
  const FreezeNode* requestFor(const std::string& accountNumber, const std::string& ifsc,
                               const std::string& ref) const;
};

// A request's respond-by (unix seconds): its own, else its bank's window in the config after
// it was accepted.
std::int64_t respondBy(const HubConfig& config, const std::string& bank, std::int64_t sentUnix,
                       const std::string& ownRespondBy);

// Builds the case from its stored messages, in any order; `now` decides what is overdue.
FreezeCase buildFreezeCase(const std::string& caseId, const std::vector<MessageRecord>& messages,
                           const HubConfig& config, std::int64_t now);

// The case as the API shows it (DESIGN §6 GET /v1/cases/{case}); account numbers masked.
std::string freezeCaseJson(const FreezeCase& c, const HubConfig& config);

// An account number as logs and reports show it: all but the last four digits as X.
std::string maskAccount(const std::string& number);

}  // namespace dx
