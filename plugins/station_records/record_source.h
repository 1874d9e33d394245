#pragma once
// The station side: reads each station's exports from its watched folder, signs every new or
// changed record as the station, keeps it in the outbox, and sends it — into this hub's own
// pipeline (ConnectorContext::submit), or, with `forward_to`, to the district hub over mutual
// TLS as the station. What cannot be sent now (the line is down, the hub answers 5xx) stays in
// the outbox and is sent again, the same JWS, on a later poll with back-off.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certificate.h"
#include "dx/connector.h"
#include "dx/https_client.h"
#include "dx/watched_folder.h"
#include "outbox.h"
#include "record_reader.h"

namespace dx::station_records {

struct StationInbox {
  std::string id;        // the station's participant id (in the connector's acts_for)
  std::string inboxDir;  // where its records software drops exports
};

struct SourceOptions {
  std::vector<StationInbox> stations;
  std::string to = "cc.samastipur";
  std::chrono::milliseconds poll{1000};
  std::string forwardTo;  // empty: submit to this hub
  std::string hubCert;    // the district hub's certificate, to check its receipts
  int httpTimeoutMs = 5000;
};

// What one attempt to hand a message over came to.
struct SendOutcome {
  enum class Kind { Receipted, Refused, Transient };
  Kind kind = Kind::Transient;
  int status = 0;       // HTTP status, 0 for a transport failure
  std::string code;     // the problem code when refused ("schema", "forbidden", ...)
  std::string detail;   // the problem's detail, or the transport failure
  std::string receipt;  // the receipt JWS when receipted
};

// Used by one thread at a time (the connector's watcher, or a test through the connector); it
// hands a window of records over at once from short-lived threads of its own.
class RecordSource {
 public:
  // Checks what start-up can check: a signer for every station (it must be in acts_for), the
  // district hub's URL and each station's TLS identity, the hub certificate file. Throws
  // std::runtime_error saying what is wrong.
  RecordSource(ConnectorContext& context, SourceOptions options, const RecordReader& reader,
               Outbox& outbox);
  ~RecordSource();

  // One pass: for every station, first what waits in its outbox (when its back-off allows),
  // then every settled export in its folder. Returns early when `stopping` turns true: what is
  // signed stays in the outbox, and a file being read is finished (never left half-read).
  void pollOnce(const std::atomic<bool>& stopping);

 private:
  struct Station;
  struct Refusal {
    OutboxEntry entry;
    std::string reason;
  };

  void processFile(Station& station, const WatchedFolder::Claimed& file,
                   const std::atomic<bool>& stopping);
  std::vector<Refusal> flush(Station& station, const std::atomic<bool>& stopping);
  SendOutcome send(Station& station, const std::string& jws);
  std::vector<SendOutcome> sendAll(Station& station, const std::vector<OutboxEntry*>& window);
  std::string checkReceiptOf(const std::string& receipt, const OutboxEntry& entry) const;
  std::string signRecord(Station& station, const std::string& body, std::string& messageId) const;
  void appendLateRefusal(Station& station, const Refusal& refusal);

  ConnectorContext& context_;
  SourceOptions options_;
  const RecordReader& reader_;
  Outbox& outbox_;
  std::optional<Certificate> hubCert_;
  std::string receiptNote_;  // why receipts are not checked, when they are not
  std::vector<std::unique_ptr<Station>> stations_;
};

// "https://host:port/" → "https://host:port": the base URL requests are made under.
std::string trimUrl(std::string url);
// hex SHA-256 of a JWS's signing input (protected "." payload): the receipt's digest.
std::string jwsDigest(const std::string& jws);
// One field of CSV: quoted when it holds a comma, quote or line break.
std::string csvField(const std::string& text);

}  // namespace dx::station_records
