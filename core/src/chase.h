#pragma once
// Following the money: when a bank's response says disputed money went on by transfer, the hub
// drafts the next layer's freeze.request to the bank holding the receiving account (by the
// first four letters of its IFSC). A cyber cell set to "auto" has its drafts signed and sent at
// once; one set to "approve" sees them wait until it approves each.
//
// A draft's id is derived from the response and the outflow it follows, and is the id of the
// request it becomes: the same money is never asked for twice, however often (or on however many
// hub instances) the drafts are made.
#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "freeze_case.h"

namespace dx {

struct ChaseDraft {
  std::string id;                       // the id the request will have
  std::string caseId, cyberCell, bank;  // bank "" when no configured bank has the IFSC's prefix
  std::string parentRequest, parentResponse;
  int outflow = -1;  // index in the parent response's outflows
  int layer = 2;
  std::string accountNumber, ifsc, hold, legalBasis, officerJson;
  std::string transactionRef, transactionAt;
  Paise transferred = 0;  // the transfer's amount
  Paise amount = 0;       // to hold: the transfer, capped by what is still disputed on the branch
  // pending (waits for approval), unroutable (unknown IFSC prefix: the cyber cell must act),
  // sent (the request exists), covered (the account was already asked for this money).
  std::string status;
  std::string coveredBy;  // for covered: that request's id
};

// The drafts the case's responses call for so far, in the order of their responses' outflows.
std::vector<ChaseDraft> chaseDrafts(const FreezeCase& c, const HubConfig& config);

// The envelope (JSON text) of the freeze.request a draft becomes, created at `now`.
std::string chaseRequestPayload(const ChaseDraft& draft, const HubConfig& config, std::int64_t now);

// The drafts as the API lists them (account numbers masked).
std::string chaseDraftsJson(const std::vector<ChaseDraft>& drafts, const std::string& caseId);

}  // namespace dx
