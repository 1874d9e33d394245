// dx-sim-dm: the DM office, simulated. It pulls its inbox from the hub over mutual TLS with its own
// certificate, and for each notice.awareness: acknowledges the inbox entry (POST
// /v1/inbox/{id}/ack), posts a signed notice.ack "received" (POST /v1/messages), and some time
// later a notice.ack "action_taken" with what the office did (offices and places, no names).
//
// Every answer has an id derived from the notice's id and its status, so a restarted simulator
// that pulls the same notice again gets 409 id_conflict for what it had already sent and moves
// on: nothing is acknowledged twice.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.h"
#include "crypto.h"
#include "domain_checks.h"
#include "dx/https_client.h"
#include "jws.h"
#include "strict_json.h"

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kUsage =
    R"(usage: dx-sim-dm --hub URL --pki DIR [--id ID] [--interval-ms N] [--action-after-ms N]
                 [--once] [--record FILE]

The DM office for tests and the demo. Pulls GET /v1/inbox?after=N from the hub with the office's
certificate DIR/ID.crt and key DIR/ID.key (the hub must chain to DIR/ca.crt), and for each
notice.awareness: POST /v1/inbox/{id}/ack, then a notice.ack "received" signed with the
office's key (POST /v1/messages), and --action-after-ms later a notice.ack "action_taken" with
details and actions. Remembers its place in the inbox between pulls.

  --hub URL              the hub, e.g. https://127.0.0.1:8443
  --id ID                the office's participant id (default dm.samastipur)
  --pki DIR              the development PKI folder (certs/make-dev-pki.sh)
  --interval-ms N        pause between inbox pulls (default 500)
  --action-after-ms N    from "received" to "action_taken" (default 1000)
  --once                 pull until the inbox is empty, answer everything, then exit: 0 if all
                         went through, 1 if anything failed
  --record FILE          append one JSON line per step: {"at","event","id","type",...}

SIGTERM or SIGINT stops it (exit 0).
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string hub, id = "dm.samastipur", pki, record;
  int intervalMs = 500;
  int actionAfterMs = 1000;
  bool once = false;
};

int parseMs(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  int n = -1;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
  }
  if (used != value.size() || n < 0 || n > 3600000)
    throw UsageError(flag + " wants milliseconds 0 to 3600000, not \"" + value + "\"");
  return n;
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (a == "--once") {
      o.once = true;
      continue;
    }
    if (i + 1 >= argc) throw UsageError(a + " needs a value (see --help)");
    std::string v = argv[++i];
    if (a == "--hub")
      o.hub = v;
    else if (a == "--id")
      o.id = v;
    else if (a == "--pki")
      o.pki = v;
    else if (a == "--record")
      o.record = v;
    else if (a == "--interval-ms")
      o.intervalMs = std::max(1, parseMs(a, v));
    else if (a == "--action-after-ms")
      o.actionAfterMs = parseMs(a, v);
    else
      throw UsageError("unknown option " + a + " (see --help)");
  }
  if (o.hub.rfind("https://", 0) != 0) throw UsageError("give --hub https://HOST:PORT");
  if (o.pki.empty()) throw UsageError("give --pki DIR (the development PKI folder)");
  while (!o.hub.empty() && o.hub.back() == '/') o.hub.pop_back();
  return o;
}

// SIGTERM/SIGINT: the loop notices within a few milliseconds.
std::atomic<bool> gStop{false};
extern "C" void onStopSignal(int) {
  gStop = true;
}

// Sleeps up to `d`; false when a stop was asked for.
bool pause(std::chrono::milliseconds d) {
  auto until = SteadyClock::now() + d;
  while (!gStop) {
    auto left = until - SteadyClock::now();
    if (left <= 0ms) return true;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(left, 20ms));
  }
  return false;
}

std::int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 UTC with milliseconds, for the record (latency per hop).
std::string nowWithMs() {
  std::int64_t ms = unixMs();
  std::string s = dx::formatRfc3339(ms / 1000);  // ...T10:15:00Z
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
  return s.substr(0, s.size() - 1) + frac + "Z";
}

// Today in India (UTC+05:30), as the office would date its actions.
std::string todayInIndia() {
  return dx::formatRfc3339(dx::SystemClock::instance().unixSeconds() + 19800).substr(0, 10);
}

// A UUID (RFC 9562 version 8) from SHA-256 of `name`: the same name, the same id.
std::string derivedUuid(const std::string& name) {
  std::string h = dx::sha256("dx-sim-dm:" + name).substr(0, 16);
  h[6] = static_cast<char>((static_cast<unsigned char>(h[6]) & 0x0f) | 0x80);
  h[8] = static_cast<char>((static_cast<unsigned char>(h[8]) & 0x3f) | 0x80);
  std::string hex = dx::hexLower(h);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

// One notice and how far the office has got with it.
struct Notice {
  enum class Step { InboxAck, Received, ActionTaken, Done };
  std::string id, from, letterNo;
  std::vector<std::string> areas;
  bool inboxOnly = false;  // not a notice: only its inbox entry is acknowledged
  Step step = Step::InboxAck;
  SteadyClock::time_point due = SteadyClock::now();
};

// What one request to the hub came to.
enum class Outcome { Done, TryAgain, Failed };

class DmOffice {
 public:
  explicit DmOffice(const Options& o)
      : o_(o),
        signer_(dx::Signer::fromFiles(o.pki + "/" + o.id + ".key", o.pki + "/" + o.id + ".crt")),
        hub_(o.hub,
             dx::TlsIdentity{o.pki + "/" + o.id + ".crt", o.pki + "/" + o.id + ".key",
                             o.pki + "/ca.crt",
                             Poco::File(o.pki + "/ca.crl").exists() ? o.pki + "/ca.crl" : ""},
             10000) {
    if (signer_.participantId() != o.id)
      throw UsageError(o.pki + "/" + o.id + ".crt names " + signer_.participantId() + ", not " +
                       o.id);
  }

  int run() {
    log("pulling " + o_.hub + "/v1/inbox as " + o_.id +
        (o_.once ? " once" : " every " + std::to_string(o_.intervalMs) + " ms"));
    bool failed = false;
    while (!gStop) {
      Outcome pulled = pull();
      if (pulled == Outcome::Failed || (o_.once && pulled == Outcome::TryAgain)) failed = true;
      if (o_.once && (failed || inboxEmpty_)) break;
      work(failed);
      if (o_.once) continue;  // pull again at once until the inbox is empty
      if (!pause(std::chrono::milliseconds(o_.intervalMs))) break;
    }
    if (o_.once && !failed) {
      // Answer everything pulled, waiting for the action_taken steps to come due.
      while (!gStop && !notices_.empty()) {
        work(failed);
        if (failed) break;
        if (!notices_.empty() && !pause(untilNextDue())) break;
      }
    }
    log(gStop ? "stopped" : failed ? "finished with failures" : "done");
    return o_.once && failed ? 1 : 0;
  }

 private:
  // GET /v1/inbox?after=cursor: remembers new notices and moves the cursor past them.
  Outcome pull() {
    dx::HttpResponse r;
    try {
      r = hub_.get("/v1/inbox?after=" + std::to_string(cursor_) + "&limit=100");
    } catch (const dx::TransportError& e) {
      log(std::string("inbox: ") + e.what());
      return Outcome::TryAgain;
    }
    if (r.status != 200) {
      log("inbox: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300));
      return r.status >= 500 ? Outcome::TryAgain : Outcome::Failed;
    }
    rapidjson::Document doc;
    if (dx::parseStrict(r.body, doc) || !doc.IsObject() || !doc.HasMember("messages") ||
        !doc["messages"].IsArray() || !doc.HasMember("next_after") ||
        !doc["next_after"].IsInt64()) {
      log("inbox: the answer is not an inbox listing");
      return Outcome::Failed;
    }
    const rapidjson::Value& messages = doc["messages"];
    for (const rapidjson::Value& m : messages.GetArray()) take(m);
    cursor_ = std::max<std::int64_t>(cursor_, doc["next_after"].GetInt64());
    inboxEmpty_ = messages.Empty();
    return Outcome::Done;
  }

  void take(const rapidjson::Value& m) {
    Notice n;
    n.id = member(m, "id");
    n.from = member(m, "from");
    std::string type = member(m, "type");
    if (!dx::isUuid(n.id)) {
      log("inbox: an entry without a valid id; skipped");
      return;
    }
    n.inboxOnly = type != "notice.awareness";
    if (n.inboxOnly) {
      // Not a notice: nothing to answer, but the office has it, so its inbox entry is acked.
      log("message " + shortId(n.id) + " (" + type + ") from " + n.from + ": not a notice");
    } else {
      // The letter number and areas from the signed envelope (the hub has verified it).
      dx::Expected<dx::JwsParts> parts = dx::splitJws(member(m, "jws"), {});
      rapidjson::Document envelope;
      if (parts && !dx::parseStrict(parts->payload, envelope) && envelope.IsObject() &&
          envelope.HasMember("body") && envelope["body"].IsObject()) {
        const rapidjson::Value& body = envelope["body"];
        n.letterNo = member(body, "letter_no");
        if (body.HasMember("areas") && body["areas"].IsArray())
          for (const rapidjson::Value& a : body["areas"].GetArray())
            if (a.IsString()) n.areas.emplace_back(a.GetString());
      }
      log("notice " + shortId(n.id) + " (" + n.letterNo + ") from " + n.from);
    }
    record({{"event", "pulled"}, {"id", n.id}, {"type", type}, {"from", n.from}}, 0);
    notices_.push_back(std::move(n));
  }

  // Runs every step that is due; a step that fails for good drops its notice (and sets failed).
  void work(bool& failed) {
    for (auto it = notices_.begin(); it != notices_.end() && !gStop;) {
      Notice& n = *it;
      bool drop = false;
      while (n.step != Notice::Step::Done && n.due <= SteadyClock::now() && !gStop) {
        Outcome o = step(n);
        if (o == Outcome::TryAgain) {
          if (o_.once) failed = drop = true;
          break;
        }
        if (o == Outcome::Failed) {
          failed = drop = true;
          break;
        }
      }
      if (drop || n.step == Notice::Step::Done)
        it = notices_.erase(it);
      else
        ++it;
    }
  }

  Outcome step(Notice& n) {
    switch (n.step) {
      case Notice::Step::InboxAck: {
        Outcome o = inboxAck(n);
        if (o == Outcome::Done) n.step = n.inboxOnly ? Notice::Step::Done : Notice::Step::Received;
        return o;
      }
      case Notice::Step::Received: {
        Outcome o = sendAck(n, "received");
        if (o == Outcome::Done) {
          n.step = Notice::Step::ActionTaken;
          n.due = SteadyClock::now() + std::chrono::milliseconds(o_.actionAfterMs);
        }
        return o;
      }
      case Notice::Step::ActionTaken: {
        Outcome o = sendAck(n, "action_taken");
        if (o == Outcome::Done) n.step = Notice::Step::Done;
        return o;
      }
      case Notice::Step::Done:
        break;
    }
    return Outcome::Done;
  }

  Outcome inboxAck(const Notice& n) {
    dx::HttpResponse r;
    try {
      r = hub_.post("/v1/inbox/" + n.id + "/ack", "application/json", "");
    } catch (const dx::TransportError& e) {
      log("inbox ack " + shortId(n.id) + ": " + e.what());
      return Outcome::TryAgain;
    }
    record({{"event", "inbox_ack"}, {"id", n.id}}, r.status);
    if (r.status == 200) return Outcome::Done;
    log("inbox ack " + shortId(n.id) + ": HTTP " + std::to_string(r.status) + " " +
        r.body.substr(0, 300));
    return r.status >= 500 ? Outcome::TryAgain : Outcome::Failed;
  }

  Outcome sendAck(const Notice& n, const std::string& status) {
    const std::string id = derivedUuid(n.id + "/" + status);
    std::string jws = signer_.sign(ackEnvelope(id, n, status));
    dx::HttpResponse r;
    try {
      r = hub_.post("/v1/messages", "application/jose+json", jws);
    } catch (const dx::TransportError& e) {
      log("notice.ack " + status + " for " + shortId(n.id) + ": " + e.what());
      return Outcome::TryAgain;
    }
    record({{"event", "ack_sent"},
            {"id", id},
            {"type", "notice.ack"},
            {"ref", n.id},
            {"status", status}},
           r.status);
    // 409: this id was sent before (an earlier run, whose `created` differed): already done.
    if (r.status == 200 || r.status == 202 || r.status == 409) {
      log("notice " + shortId(n.id) + ": notice.ack " + status + " " + shortId(id) + " -> " +
          std::to_string(r.status));
      return Outcome::Done;
    }
    log("notice.ack " + status + " for " + shortId(n.id) + ": HTTP " + std::to_string(r.status) +
        " " + r.body.substr(0, 300));
    return r.status >= 500 ? Outcome::TryAgain : Outcome::Failed;
  }

  std::string ackEnvelope(const std::string& id, const Notice& n, const std::string& status) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto field = [&](const char* k, const std::string& v) {
      w.Key(k);
      w.String(v);
    };
    w.StartObject();
    field("id", id);
    field("type", "notice.ack");
    field("from", o_.id);
    field("to", n.from);
    field("created", dx::formatRfc3339(dx::SystemClock::instance().unixSeconds()));
    field("ref", n.id);
    w.Key("body");
    w.StartObject();
    field("status", status);
    std::string letter = n.letterNo.empty() ? "the notice" : "letter " + n.letterNo;
    if (status == "received") {
      field("details", "Received at the DM office; " + letter +
                           " entered in the register and sent to the district public "
                           "relations office.");
    } else {
      std::string places;
      for (const std::string& a : n.areas) places += (places.empty() ? "" : ", ") + a;
      field("details", "Action on " + letter +
                           ": block development officers instructed; awareness notice "
                           "published in Hindi newspapers.");
      w.Key("actions");
      w.StartArray();
      for (auto [what, where] :
           {std::pair<std::string, std::string>{"Awareness notice in Hindi newspapers",
                                                "District-wide"},
            {"Panchayat meetings on cyber fraud", places.empty() ? "All blocks" : places},
            {"Announcement on community radio", "District public relations office"}}) {
        w.StartObject();
        field("what", what);
        field("when", todayInIndia());
        field("where", where);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
  }

  std::chrono::milliseconds untilNextDue() const {
    auto next = SteadyClock::time_point::max();
    for (const Notice& n : notices_) next = std::min(next, n.due);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - SteadyClock::now());
    return std::clamp(left, 0ms, 60000ms);
  }

  void record(const std::vector<std::pair<std::string, std::string>>& fields, int http) {
    if (o_.record.empty()) return;
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("at");
    w.String(nowWithMs());
    for (const auto& [k, v] : fields) {
      w.Key(k.c_str());
      w.String(v);
    }
    if (http != 0) {
      w.Key("http");
      w.Int(http);
    }
    w.EndObject();
    std::ofstream out(o_.record, std::ios::app);
    out << buf.GetString() << "\n";
  }

  static std::string shortId(const std::string& id) { return id.substr(0, 8); }
  void log(const std::string& line) { std::cout << "dx-sim-dm: " << line << std::endl; }

  Options o_;
  dx::Signer signer_;
  dx::HttpsClient hub_;
  std::int64_t cursor_ = 0;  // the inbox's `next_after`: entries up to it are taken
  bool inboxEmpty_ = false;
  std::deque<Notice> notices_;
};

int run(int argc, char** argv) {
  Options options = parseOptions(argc, argv);
  struct sigaction stop {};
  stop.sa_handler = onStopSignal;
  sigemptyset(&stop.sa_mask);
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGINT, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  DmOffice office(options);
  return office.run();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "dx-sim-dm: " << e.what() << "\n";
    return 2;
  } catch (const Poco::Exception& e) {
    std::cerr << "dx-sim-dm: " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dx-sim-dm: " << e.what() << "\n";
    return 1;
  }
}
