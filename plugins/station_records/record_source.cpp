#include "record_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "crypto.h"
#include "jws.h"
#include "receipt.h"
#include "strict_json.h"

namespace dx::station_records {

using SteadyClock = std::chrono::steady_clock;

struct RecordSource::Station {
  std::string id;
  std::unique_ptr<WatchedFolder> folder;
  std::shared_ptr<const MessageSigner> signer;
  std::unique_ptr<HttpsClient> client;  // forwarding only
  int failures = 0;                     // sends that failed in a row
  SteadyClock::time_point nextAttempt{};
};

namespace {

constexpr std::chrono::milliseconds kMaxBackoff{60000};
// Records handed over at once (submits or HTTPS posts in flight per station).
constexpr std::size_t kWindow = 8;
constexpr const char* kErrorsHeader = "line,case_no,reason\n";

struct ErrorLine {
  long line = 0;  // -1: the whole file
  std::string caseNo, reason;
};

std::string errorsCsv(std::vector<ErrorLine> errors) {
  std::stable_sort(errors.begin(), errors.end(),
                   [](const ErrorLine& a, const ErrorLine& b) { return a.line < b.line; });
  std::string out = kErrorsHeader;
  for (const ErrorLine& e : errors)
    out += (e.line < 0 ? std::string() : std::to_string(e.line)) + "," + csvField(e.caseNo) + "," +
           csvField(e.reason) + "\n";
  return out;
}

bool isParticipantId(const std::string& id) {
  // ^[a-z0-9]+(\.[a-z0-9_]+)+$ as the envelope schema says.
  if (id.empty() || id.size() > 64 || id.front() == '.' || id.back() == '.') return false;
  bool dot = false, first = true;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (c == '.') {
      if (i + 1 < id.size() && id[i + 1] == '.') return false;
      dot = true;
      first = false;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '_' && !first))) {
      return false;
    }
  }
  return dot;
}

std::string envelope(const std::string& id, const std::string& from, const std::string& to,
                     const std::string& body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("id");
  w.String(id);
  w.Key("type");
  w.String("station.record");
  w.Key("from");
  w.String(from);
  w.Key("to");
  w.String(to);
  w.Key("created");
  w.String(formatRfc3339(SystemClock::instance().unixSeconds()));
  w.Key("body");
  w.RawValue(body.data(), body.size(), rapidjson::kObjectType);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The body of a message we signed (to sign it again).
std::string bodyOf(const std::string& jws) {
  Expected<JwsParts> parts = splitJws(jws, {});
  if (!parts) throw std::runtime_error("outbox entry is not a JWS: " + parts.problem().detail);
  rapidjson::Document env;
  if (parseStrict(parts->payload, env) || !env.IsObject() || !env.HasMember("body"))
    throw std::runtime_error("outbox entry has no envelope");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  env["body"].Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

// code and detail of a problem+json answer; the start of anything else.
void readProblem(const std::string& body, int status, SendOutcome& out) {
  rapidjson::Document doc;
  if (!parseStrict(body, doc) && doc.IsObject()) {
    if (doc.HasMember("code") && doc["code"].IsString()) out.code = doc["code"].GetString();
    if (doc.HasMember("detail") && doc["detail"].IsString()) out.detail = doc["detail"].GetString();
  }
  if (out.code.empty()) out.code = "http_" + std::to_string(status);
  if (out.detail.empty()) out.detail = body.substr(0, 200);
}

SendOutcome::Kind kindOf(int status) {
  if (status == 200 || status == 202) return SendOutcome::Kind::Receipted;
  if (status >= 400 && status < 500 && status != 408 && status != 429)
    return SendOutcome::Kind::Refused;
  return SendOutcome::Kind::Transient;  // 5xx, 408, 429, and anything unexpected
}

std::string describe(const SendOutcome& o) {
  if (o.status == 0) return o.detail;  // a transport failure: the detail says it all
  return std::to_string(o.status) + " " + o.code + (o.detail.empty() ? "" : ": " + o.detail);
}

std::string readWhole(const std::string& path, std::size_t limit, bool& tooLarge) {
  struct stat st {};
  tooLarge = ::stat(path.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) > limit;
  if (tooLarge) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string trimUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string jwsDigest(const std::string& jws) {
  Expected<JwsParts> parts = splitJws(jws, {});
  if (!parts) throw std::runtime_error("not a JWS: " + parts.problem().detail);
  return hexLower(sha256(parts->signingInput));
}

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

RecordSource::RecordSource(ConnectorContext& context, SourceOptions options,
                           const RecordReader& reader, Outbox& outbox)
    : context_(context), options_(std::move(options)), reader_(reader), outbox_(outbox) {
  options_.forwardTo = trimUrl(options_.forwardTo);
  if (!isParticipantId(options_.to))
    throw std::runtime_error("to: \"" + options_.to + "\" is not a participant id");
  // Receipts are checked against the certificate of the hub that gives them.
  std::string certPath = options_.forwardTo.empty() ? context_.hubTls().cert : options_.hubCert;
  if (!certPath.empty()) {
    try {
      hubCert_ = Certificate::fromPemFile(certPath);
    } catch (const std::exception& e) {
      if (!options_.forwardTo.empty())
        throw std::runtime_error(std::string("hub_cert: ") + e.what());
      receiptNote_ = std::string("unverified: ") + e.what();
    }
  } else {
    receiptNote_ = options_.forwardTo.empty() ? "unverified: this hub has no certificate file"
                                              : "unverified: no hub_cert is configured";
  }
  std::set<std::string> ids, dirs;
  for (const StationInbox& s : options_.stations) {
    if (!isParticipantId(s.id))
      throw std::runtime_error("stations: \"" + s.id + "\" is not a participant id");
    if (!ids.insert(s.id).second)
      throw std::runtime_error("stations: " + s.id + " is listed twice");
    if (s.inboxDir.empty()) throw std::runtime_error("stations: " + s.id + " has no inbox_dir");
    if (!dirs.insert(s.inboxDir).second)
      throw std::runtime_error("stations: inbox_dir " + s.inboxDir + " is given twice");
    auto station = std::make_unique<Station>();
    station->id = s.id;
    try {
      station->signer = context_.signerFor(s.id);
    } catch (const std::exception& e) {
      throw std::runtime_error("stations: " + s.id +
                               " must be in this plugin's acts_for to sign its records (" +
                               e.what() + ")");
    }
    if (!station->signer) throw std::runtime_error("stations: no signer for " + s.id);
    station->folder = std::make_unique<WatchedFolder>(s.inboxDir);
    if (!options_.forwardTo.empty()) {
      try {
        station->client = std::make_unique<HttpsClient>(options_.forwardTo, context_.tlsFor(s.id),
                                                        options_.httpTimeoutMs);
      } catch (const std::exception& e) {
        throw std::runtime_error("forward_to: " + std::string(e.what()));
      }
    }
    stations_.push_back(std::move(station));
  }
}

RecordSource::~RecordSource() = default;

void RecordSource::pollOnce(const std::atomic<bool>& stopping) {
  for (auto& station : stations_) {
    if (stopping) return;
    try {
      for (const Refusal& r : flush(*station, stopping)) appendLateRefusal(*station, r);
      while (!stopping) {
        std::optional<WatchedFolder::Claimed> file = station->folder->claimNext();
        if (!file) break;
        processFile(*station, *file, stopping);
      }
    } catch (const std::exception& e) {
      context_.logger().error("station_records: " + station->id + ": " + e.what());
    }
  }
}

std::string RecordSource::signRecord(Station& station, const std::string& body,
                                     std::string& messageId) const {
  messageId = newUuid();
  return station.signer->sign(envelope(messageId, station.id, options_.to, body));
}

void RecordSource::processFile(Station& station, const WatchedFolder::Claimed& file,
                               const std::atomic<bool>& stopping) {
  Poco::Logger& log = context_.logger();
  const std::string where = "station_records: " + station.id + ": " + file.name + ": ";
  try {
    bool tooLarge = false;
    std::string content = readWhole(file.path, RecordReader::kMaxFileBytes, tooLarge);
    ReadResult read;
    if (tooLarge)
      read.fileError =
          "the file is larger than " + std::to_string(RecordReader::kMaxFileBytes) + " bytes";
    else
      read = reader_.read(file.name, content, station.id, options_.to);
    if (!read.fileError.empty()) {
      station.folder->reject(file, errorsCsv({{-1, "", read.fileError}}), true);
      log.warning(where + "refused as a whole: " + read.fileError + " (see rejected/" + file.name +
                  ".errors.csv)");
      return;
    }

    std::vector<ErrorLine> errors;
    std::vector<OutboxEntry> fresh;
    std::map<std::string, std::string> newestInFile;  // case → body hash signed from this file
    std::size_t repeated = 0;
    for (const ReadRow& row : read.rows) {
      if (!row.ok()) {
        errors.push_back({row.line, row.caseNo, row.error});
        continue;
      }
      std::string hash = bodyHash(row.body);
      auto it = newestInFile.find(row.caseNo);
      std::string latest =
          it != newestInFile.end() ? it->second : outbox_.latestHash(station.id, row.caseNo);
      if (latest == hash) {
        ++repeated;  // the hub has this version already (or it waits in the outbox)
        continue;
      }
      newestInFile[row.caseNo] = hash;
      OutboxEntry e;
      e.station = station.id;
      e.caseNo = row.caseNo;
      e.bodyHash = hash;
      e.jws = signRecord(station, row.body, e.messageId);
      e.digest = jwsDigest(e.jws);
      e.file = file.name;
      e.line = row.line;
      fresh.push_back(std::move(e));
    }
    // Durable before anything is sent: from here on nothing of this file can be lost.
    outbox_.add(fresh);

    std::set<std::string> ours;
    for (const OutboxEntry& e : fresh) ours.insert(e.messageId);
    std::size_t refused = 0;
    if (!stopping) {
      for (Refusal& r : flush(station, stopping)) {
        if (ours.count(r.entry.messageId)) {
          errors.push_back({r.entry.line, r.entry.caseNo, r.reason});
          ++refused;
        } else {
          appendLateRefusal(station, r);
        }
      }
    }
    const std::size_t good = fresh.size() - refused + repeated;
    if (errors.empty())
      station.folder->done(file);
    else
      station.folder->reject(file, errorsCsv(errors), good == 0);
    std::size_t waiting = outbox_.count("pending");
    log.information(where + std::to_string(read.rows.size()) +
                    " rows: " + std::to_string(fresh.size() - refused) + " new or changed, " +
                    std::to_string(repeated) + " already sent, " + std::to_string(errors.size()) +
                    " refused" +
                    (errors.empty() ? "" : " (see rejected/" + file.name + ".errors.csv)") + "; " +
                    std::to_string(waiting) + " waiting in the outbox");
  } catch (const std::exception& e) {
    // Whatever was signed is in the outbox (and is never signed twice); the file can simply be
    // dropped again once the cause is fixed.
    log.error(where + "could not be processed: " + e.what());
    try {
      station.folder->reject(
          file,
          errorsCsv({{-1, "",
                      std::string("the file could not be processed (") + e.what() +
                          "); drop it again: rows already sent are not sent twice"}}),
          true);
    } catch (const std::exception& e2) {
      log.error(where + "cannot move it to rejected/: " + e2.what());
    }
  }
}

std::vector<RecordSource::Refusal> RecordSource::flush(Station& station,
                                                       const std::atomic<bool>& stopping) {
  std::vector<Refusal> refusals;
  if (SteadyClock::now() < station.nextAttempt) return refusals;
  std::vector<OutboxEntry> pending = outbox_.pending(station.id);
  std::size_t next = 0;
  while (next < pending.size() && !stopping) {
    // Entries are sent a window at a time, at once, so that the hub can commit them together.
    // A window never holds two versions of one case: those arrive in the order they were signed.
    std::vector<OutboxEntry*> window;
    std::set<std::string> cases;
    while (next < pending.size() && window.size() < kWindow &&
           cases.insert(pending[next].caseNo).second)
      window.push_back(&pending[next++]);
    std::vector<SendOutcome> outcomes = sendAll(station, window);

    std::vector<SentReceipt> sent;
    const SendOutcome* failure = nullptr;
    for (std::size_t i = 0; i < window.size(); ++i) {
      OutboxEntry& entry = *window[i];
      SendOutcome& o = outcomes[i];
      if (o.kind == SendOutcome::Kind::Refused && o.code == "stale") {
        // The hub checks duplicates before freshness, so "stale" means it never stored this id
        // (the record waited too long): signed anew, new id and created now, and sent again.
        std::string id;
        std::string jws = signRecord(station, bodyOf(entry.jws), id);
        std::string digest = jwsDigest(jws);
        outbox_.resign(entry.messageId, id, jws, digest);
        entry.messageId = id;
        entry.jws = jws;
        entry.digest = digest;
        o = send(station, entry.jws);
      }
      switch (o.kind) {
        case SendOutcome::Kind::Receipted:
          sent.push_back({entry.messageId, o.receipt, checkReceiptOf(o.receipt, entry)});
          break;
        case SendOutcome::Kind::Refused: {
          std::string reason = "refused by the hub: " + describe(o);
          outbox_.markRefused(entry.messageId, reason);
          refusals.push_back({entry, reason});
          break;
        }
        case SendOutcome::Kind::Transient:
          outbox_.noteFailure(entry.messageId, describe(o));
          if (!failure) failure = &o;
          break;
      }
    }
    outbox_.markSent(sent);
    if (failure) {
      ++station.failures;
      std::chrono::milliseconds wait = options_.poll;
      for (int i = 1; i < station.failures && wait < kMaxBackoff; ++i) wait *= 2;
      wait = std::min(wait, kMaxBackoff);
      station.nextAttempt = SteadyClock::now() + wait;
      // A line down for a day is one warning a minute at most: the 1st, 2nd, 4th, 8th, ...
      // failure, then one per capped wait.
      if ((station.failures & (station.failures - 1)) == 0 || wait >= kMaxBackoff)
        context_.logger().warning(
            "station_records: " + station.id + ": cannot send now (" + describe(*failure) + "); " +
            std::to_string(outbox_.count("pending")) + " records wait in the outbox; next try in " +
            std::to_string(wait.count()) + " ms");
      return refusals;
    }
    if (station.failures > 0)
      context_.logger().information("station_records: " + station.id + ": sending again after " +
                                    std::to_string(station.failures) + " failed tries");
    station.failures = 0;
  }
  return refusals;
}

std::vector<SendOutcome> RecordSource::sendAll(Station& station,
                                               const std::vector<OutboxEntry*>& window) {
  std::vector<SendOutcome> out(window.size());
  std::vector<std::future<SendOutcome>> running;
  try {
    for (std::size_t i = 1; i < window.size(); ++i)
      running.push_back(std::async(std::launch::async, [this, &station, jws = &window[i]->jws] {
        return send(station, *jws);
      }));
  } catch (const std::system_error&) {
    // No thread to be had: what did not start is sent here, one after another.
  }
  if (!window.empty()) out[0] = send(station, window[0]->jws);
  for (std::size_t i = 1; i < window.size(); ++i)
    out[i] = i - 1 < running.size() ? running[i - 1].get() : send(station, window[i]->jws);
  return out;
}

SendOutcome RecordSource::send(Station& station, const std::string& jws) {
  SendOutcome out;
  if (!station.client) {
    SubmitResult r;
    try {
      r = context_.submit(jws);
    } catch (const std::exception& e) {
      out.kind = SendOutcome::Kind::Transient;
      out.code = "submit_failed";
      out.detail = e.what();
      return out;
    }
    out.status = r.status;
    out.kind = kindOf(r.status);
    if (out.kind == SendOutcome::Kind::Receipted)
      out.receipt = r.body;
    else
      readProblem(r.body, r.status, out);
    if (out.code.empty()) out.code = r.code;
    return out;
  }
  try {
    HttpResponse r = station.client->post("/v1/messages", "application/jose+json", jws);
    out.status = r.status;
    out.kind = kindOf(r.status);
    if (out.kind == SendOutcome::Kind::Receipted)
      out.receipt = r.body;
    else
      readProblem(r.body, r.status, out);
  } catch (const TransportError& e) {
    out.kind = SendOutcome::Kind::Transient;
    out.code = "unreachable";
    out.detail = e.what();
  }
  return out;
}

std::string RecordSource::checkReceiptOf(const std::string& receipt,
                                         const OutboxEntry& entry) const {
  if (!hubCert_) return receiptNote_;
  std::string why;
  if (checkReceipt(receipt, *hubCert_, entry.messageId, entry.digest, why)) return "verified";
  context_.logger().error("station_records: " + entry.station + ": the receipt for message " +
                          entry.messageId + " does not check: " + why);
  return "invalid: " + why;
}

void RecordSource::appendLateRefusal(Station& station, const Refusal& r) {
  // The export was filed before the hub answered: its report gets the row now.
  std::string path = station.folder->dir() + "/rejected/" + r.entry.file + ".errors.csv";
  struct stat st {};
  bool fresh = ::stat(path.c_str(), &st) != 0;
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (fresh) out << kErrorsHeader;
  out << r.entry.line << "," << csvField(r.entry.caseNo) << "," << csvField(r.reason) << "\n";
  context_.logger().warning("station_records: " + station.id + ": " + r.entry.file + " line " +
                            std::to_string(r.entry.line) + ": " + r.reason + " (see rejected/" +
                            r.entry.file + ".errors.csv)");
}

}  // namespace dx::station_records
