#pragma once
// Reads a station's records export (CSV or JSON) into checked station.record bodies.
//
// CSV (RFC 4180; UTF-8, a leading UTF-8 BOM tolerated; CRLF or LF; fields with commas, quotes
// or line breaks in double quotes, a quote inside written twice). Lines starting with '#'
// before the header are comments. The header row names the columns, in any order, any case:
//
//   case_no           FIR number, e.g. 214/2026                                   required
//   registered_on     date the FIR was registered, YYYY-MM-DD                      required
//   category          upi_fraud, otp_kyc_fraud, sim_swap, sextortion, job_fraud,
//                     investment_fraud, loan_app, identity_theft or other          required
//   sections          sections invoked, separated by ';': BNS 318(4); IT Act 66D   required
//   status            registered, under_investigation, chargesheeted or closed     required
//   amount_lost       rupees with at most two decimals, e.g. 45000.00              required
//   amount_frozen     rupees held on accounts so far                                required
//   amount_recovered  rupees returned to the victims so far                         required
//   ncrp_ack          NCRP acknowledgement number (empty: none)                    optional
//   actions           action taken, separated by ';' (may be Hindi)                optional
//
// A column not in this list, or a required one missing, refuses the whole file with one line
// naming them. Values are trimmed of surrounding spaces; empty list entries are dropped. Rows
// whose every field is empty are skipped. sim/samples/station_records_sample.csv is an example.
//
// JSON: one record object, or an array of them, each with exactly the body fields of
// station.record (DESIGN §4).
//
// Every row becomes a body and is checked as the hub will check it (dx::MessageValidator on an
// envelope around it). A bad row is reported with where it is — the physical line its CSV row
// starts on (the header is line 1 when there are no comments), or its JSON array index (0 for a
// single object) — and the validator's reason; it never stops the rows after it.
#include <string>
#include <string_view>
#include <vector>

#include "message_validator.h"

namespace dx::station_records {

struct ReadRow {
  long line = 0;       // CSV: physical line where the row starts; JSON: array index
  std::string caseNo;  // as written, when there is one (the errors report shows it)
  std::string body;    // the canonical body JSON, when the row is good
  std::string error;   // "<code>: <detail>" when it is not
  bool ok() const { return error.empty(); }
};

struct ReadResult {
  std::string fileError;  // set when the whole file is refused (no rows then)
  std::vector<ReadRow> rows;
};

// Holds a reference to the validator (which must outlive it). Thread-safe: read() shares only
// immutable state.
class RecordReader {
 public:
  static constexpr std::size_t kMaxFileBytes = 32u << 20;

  explicit RecordReader(const MessageValidator& validator) : validator_(validator) {}

  // `fileName` picks the format: *.json is JSON, *.csv is CSV, anything else by its first
  // character ('{' or '[' is JSON). `station` and `to` fill the envelope the rows are checked in.
  ReadResult read(const std::string& fileName, std::string_view content, const std::string& station,
                  const std::string& to) const;
  ReadResult readCsv(std::string_view content, const std::string& station,
                     const std::string& to) const;
  ReadResult readJson(std::string_view content, const std::string& station,
                      const std::string& to) const;

 private:
  const MessageValidator& validator_;
};

// The body fields in their canonical order; a body is always written in this order, so the same
// record gives the same bytes (and the same hash) whichever way it arrived.
const std::vector<std::string>& bodyFields();

// hex SHA-256 of a canonical body: what "the same record" means.
std::string bodyHash(std::string_view canonicalBody);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool validUtf8(std::string_view text);

}  // namespace dx::station_records
