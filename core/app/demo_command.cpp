// dxhub demo: the Samastipur story of DESIGN §9 on the embedded default, over real TLS on
// loopback. It starts `dxhub serve` with a config of its own (SQLite in a fresh folder), the bank
// and DM office simulators, a real SMTP server for the DM office's mail, and five stations'
// record exports; then plays the freeze case and the notice as the cyber cell and the SP office
// would, waits for every answer, and tells what happened from the hub's own audit log.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "audit.h"
#include "child_process.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "dx/https_client.h"
#include "envelope.h"
#include "jws.h"
#include "store.h"
#include "stored_message.h"
#include "strict_json.h"

namespace dx::cli {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: dxhub demo [--config FILE] [--dir DIR] [--keep-running]

Plays the Samastipur story over real TLS on loopback and prints its timeline and a summary:
five police stations' cyber-crime records flow in and the district graph is drawn; the cyber
cell asks a bank to freeze a victim's money; the bank holds part and says where the rest went;
the hub follows the money to two more banks, one of which answers late (the hub escalates); the
SP office's notice in Hindi and English reaches the DM office, which acknowledges it; the audit
log verifies. Starts `dxhub serve` (SQLite in DIR), dx-sim-bank ×3, dx-sim-station ×5,
dx-sim-dm and an SMTP server (python3 -m aiosmtpd) for the DM office's mail, and stops them at
the end. Writes DIR/case-<case>.json and DIR/cyber-crime.svg. Exits 1 if any step fails.
Run it from the repository's root after `make build` (`make demo` does both).

  --config FILE    the config to start from (default config/dxhub.json): its participants,
                   PKI and connectors; ports, store and folders are the demo's own
  --dir DIR        where the demo keeps its files (default var/demo; emptied first)
  --keep-running   leave everything running and print how to query the hub; Ctrl-C stops it
)";

constexpr const char* kCase = "31509260012345";  // the victim's NCRP acknowledgement number
constexpr int kRowsPerStation = 24;
constexpr int kPnbRespondWithinS = 6;  // PNB is late: it answers after 10 s
constexpr auto kStoryTimeout = 50s;

struct DemoFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string programDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("build") : self.parent_path().string();
}

// ---------------------------------------------------------------- the demo's config

rapidjson::Value& member(rapidjson::Value& object, const char* key,
                         rapidjson::Document::AllocatorType& a) {
  if (!object.HasMember(key))
    object.AddMember(rapidjson::Value(key, a), rapidjson::Value(rapidjson::kObjectType), a);
  return object[key];
}

void set(rapidjson::Value& object, const char* key, const std::string& value,
         rapidjson::Document::AllocatorType& a) {
  object.RemoveMember(key);
  object.AddMember(rapidjson::Value(key, a), rapidjson::Value(value.c_str(), a), a);
}

void set(rapidjson::Value& object, const char* key, int value,
         rapidjson::Document::AllocatorType& a) {
  object.RemoveMember(key);
  object.AddMember(rapidjson::Value(key, a), rapidjson::Value(value), a);
}

struct Ports {
  int hub = freeLoopbackPort(), smtp = freeLoopbackPort();
  std::map<std::string, int> banks;
};

// The template config with the demo's ports, store and folders; the cyber cell chases
// automatically and PNB has a short time to answer.
std::string demoConfig(const std::string& templatePath, const std::string& dir, Ports& ports) {
  rapidjson::Document doc;
  if (JsonError e = parseStrict(readFile(templatePath), doc))
    throw DemoFailure(templatePath + ": " + e.message());
  auto& a = doc.GetAllocator();
  set(member(doc, "hub", a), "listen", "127.0.0.1:" + std::to_string(ports.hub), a);
  set(member(doc, "store", a), "url", "sqlite:" + dir + "/dxhub.db", a);
  for (auto& p : doc["participants"].GetArray()) {
    std::string id = p["id"].GetString();
    if (id == "cc.samastipur") set(p, "chase", "auto", a);
    if (id == "bank.pnb") set(p, "respond_within_s", kPnbRespondWithinS, a);
  }
  for (auto& plugin : doc["plugins"].GetArray()) {
    std::string name = plugin["name"].GetString();
    rapidjson::Value& config = member(plugin, "config", a);
    if (name == "bank_freeze") {
      rapidjson::Value& endpoints = member(config, "endpoints", a);
      for (auto& e : endpoints.GetObject()) {
        int port = freeLoopbackPort();
        ports.banks[e.name.GetString()] = port;
        e.value.SetString(("https://127.0.0.1:" + std::to_string(port)).c_str(), a);
      }
      set(member(plugin, "delivery", a), "initial_backoff_ms", 200, a);
    } else if (name == "dm_notices") {
      set(member(config, "smtp", a), "port", ports.smtp, a);
    } else if (name == "station_records") {
      for (auto& s : member(config, "stations", a).GetArray())
        set(s, "inbox_dir", dir + "/stations/" + s["id"].GetString(), a);
      set(config, "state_dir", dir + "/station_records", a);
      set(config, "poll_ms", 200, a);
    }
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  std::string path = dir + "/dxhub.json";
  std::ofstream(path) << buf.GetString() << "\n";
  return path;
}

// ---------------------------------------------------------------- talking to the hub

struct Party {
  Party(const std::string& id, const std::string& pki, const std::string& hubUrl)
      : id(id),
        signer(Signer::fromFiles(pki + "/" + id + ".key", pki + "/" + id + ".crt")),
        http(hubUrl,
             TlsIdentity{pki + "/" + id + ".crt", pki + "/" + id + ".key", pki + "/ca.crt",
                         pki + "/ca.crl"},
             10000) {}
  std::string id;
  Signer signer;
  HttpsClient http;
};

rapidjson::Document parsed(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError()) d.SetObject();
  return d;
}

class Demo {
 public:
  Demo(std::string templatePath, std::string dir, bool keepRunning)
      : templatePath_(std::move(templatePath)), dir_(std::move(dir)), keep_(keepRunning) {}

  int run();

 private:
  void prepare();
  void startParties();
  void waitForHub();
  void exportStationRecords();
  std::string postFreezeRequest();
  std::string postNotice();
  void waitForTheStory(const std::string& request, const std::string& notice);
  void saveCaseAndGraph();
  void report();
  void keepRunning();
  Party& party(const std::string& id);
  std::string post(Party& p, const std::string& payload, const char* what);
  template <class Done>
  void waitFor(const char* what, Done done);

  std::string templatePath_, dir_;
  bool keep_;
  std::string programs_ = programDir();
  HubConfig config_;
  Ports ports_;
  std::string pki_, hubUrl_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
  ChildProcess* hub_ = nullptr;
  std::map<std::string, std::unique_ptr<Party>> parties_;
  std::map<std::string, double> receiptMs_;  // message id → receipt latency the sender saw
  SteadyClock::time_point storyDeadline_;
  int stationRecords_ = 0;
  std::string monthsFrom_, monthsTo_;
};

Party& Demo::party(const std::string& id) {
  auto& p = parties_[id];
  if (!p) p = std::make_unique<Party>(id, pki_, hubUrl_);
  return *p;
}

std::string Demo::post(Party& p, const std::string& payload, const char* what) {
  auto started = SteadyClock::now();
  HttpResponse r = p.http.post("/v1/messages", "application/jose+json", p.signer.sign(payload));
  double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  if (r.status != 202)
    throw DemoFailure(std::string(what) + ": the hub answered " + std::to_string(r.status) + " " +
                      r.body);
  std::string id = jsonString(parsed(payload), "id");
  receiptMs_[id] = ms;
  return id;
}

template <class Done>
void Demo::waitFor(const char* what, Done done) {
  while (!done()) {
    if (SteadyClock::now() > storyDeadline_)
      throw DemoFailure(std::string("timed out waiting for ") + what + " (logs in " + dir_ + ")");
    if (hub_ && !hub_->running()) throw DemoFailure("the hub stopped; see " + dir_ + "/hub.log");
    std::this_thread::sleep_for(100ms);
  }
}

void Demo::prepare() {
  std::error_code ec;
  // The folder is emptied: only one the demo made before (or an empty or new one) may be.
  if (fs::is_directory(dir_, ec) && !fs::is_empty(dir_, ec) &&
      !(fs::exists(dir_ + "/dxhub.json") && fs::exists(dir_ + "/hub.log")))
    throw DemoFailure(dir_ +
                      " is not empty and not a folder an earlier demo made; give another --dir");
  fs::remove_all(dir_, ec);
  fs::create_directories(dir_ + "/stations");
  config_ = loadConfig(templatePath_);
  pki_ = config_.pkiDir;
  if (!fs::exists(pki_ + "/ca.crl")) {
    std::cout << "making the development PKI in " << pki_ << " …\n";
    ChildProcess pki("certs/make-dev-pki.sh", {pki_}, dir_ + "/pki.log");
    if (pki.wait() != 0)
      throw DemoFailure("certs/make-dev-pki.sh failed; see " + dir_ + "/pki.log");
  }
  std::string path = demoConfig(templatePath_, dir_, ports_);
  config_ = loadConfig(path);
  hubUrl_ = "https://127.0.0.1:" + std::to_string(ports_.hub);
  SystemClock clock;
  std::int64_t now = clock.unixSeconds();
  monthsTo_ = formatRfc3339(now).substr(0, 7);
  monthsFrom_ = formatRfc3339(now - 150LL * 86400).substr(0, 7);  // six months with this one
}

void Demo::startParties() {
  auto start = [&](const std::string& program, std::vector<std::string> args,
                   const std::string& log) {
    children_.push_back(std::make_unique<ChildProcess>(program, std::move(args), dir_ + "/" + log));
    return children_.back().get();
  };
  // The DM office's mail server: a real SMTP server that prints what it receives.
  start("python3", {"-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(ports_.smtp)},
        "dm-mail.log");
  for (const auto& [bank, port] : ports_.banks)
    start(programs_ + "/dx-sim-bank",
          {"--id", bank, "--pki", pki_, "--listen", "127.0.0.1:" + std::to_string(port), "--hub",
           hubUrl_, "--scenario", "sim/bank_scenarios/demo.json", "--record",
           dir_ + "/" + bank + ".jsonl"},
          bank + ".log");
  hub_ = start(programs_ + "/dxhub", {"serve", "--config", dir_ + "/dxhub.json"}, "hub.log");
  waitForHub();
  start(programs_ + "/dx-sim-dm",
        {"--hub", hubUrl_, "--pki", pki_, "--interval-ms", "200", "--action-after-ms", "1500",
         "--record", dir_ + "/dm.jsonl"},
        "dm.log");
}

void Demo::waitForHub() {
  storyDeadline_ = SteadyClock::now() + 20s;
  waitFor("the hub to listen", [&] {
    try {
      return party("sp.samastipur").http.get("/healthz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
}

void Demo::exportStationRecords() {
  int seed = 1;
  for (const ParticipantConfig& p : config_.participants) {
    if (p.role != "station") continue;
    ChildProcess sim(programs_ + "/dx-sim-station",
                     {"--out", dir_ + "/stations/" + p.id, "--station", p.id, "--rows",
                      std::to_string(kRowsPerStation), "--months", monthsFrom_ + ".." + monthsTo_,
                      "--seed", std::to_string(seed++)},
                     dir_ + "/stations.log");
    if (sim.wait() != 0) throw DemoFailure("dx-sim-station failed; see " + dir_ + "/stations.log");
    stationRecords_ += kRowsPerStation;
  }
}

std::string Demo::postFreezeRequest() {
  std::int64_t now = SystemClock::instance().unixSeconds();
  auto at = [&](int minutesAgo) { return formatRfc3339(now - 60LL * minutesAgo); };
  std::string body =
      R"({"layer":1,"account":{"number":"30112233445","ifsc":"SBIN0001234",)"
      R"("holder":"Account holder as per bank"},"hold":"lien","amount":"45000.00",)"
      R"("transactions":[{"ref":"629812345678","amount":"25000.00","at":")" +
      at(40) + R"(","channel":"UPI"},{"ref":"629812345690","amount":"20000.00","at":")" + at(38) +
      R"(","channel":"UPI"}],"legal_basis":"BNSS 2023 s.106",)"
      R"("officer":{"name":"Duty Officer, Cyber Cell","rank":"Inspector",)"
      R"("phone":"+910000000000"},"respond_by":")" +
      formatRfc3339(now + 1800) + "\"}";
  return post(party("cc.samastipur"),
              newEnvelope("freeze.request", "cc.samastipur", "bank.sbi", body, "", kCase),
              "the freeze request");
}

std::string Demo::postNotice() {
  rapidjson::Document body = parsed(readFile("sim/samples/notice.awareness.json"));
  std::string dueBy =
      formatRfc3339(SystemClock::instance().unixSeconds() + 7 * 86400 + 19800).substr(0, 10);
  set(body, "respond_by", dueBy, body.GetAllocator());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  body.Accept(w);
  return post(party("sp.samastipur"),
              newEnvelope("notice.awareness", "sp.samastipur", "dm.samastipur", buf.GetString()),
              "the awareness notice");
}

void Demo::waitForTheStory(const std::string& request, const std::string& notice) {
  storyDeadline_ = SteadyClock::now() + kStoryTimeout;
  Party& cc = party("cc.samastipur");
  Party& sp = party("sp.samastipur");
  waitFor("the station records", [&] {
    int records = 0;
    std::string after = "0";
    for (;;) {
      rapidjson::Document page = parsed(cc.http.get("/v1/inbox?limit=1000&after=" + after).body);
      if (!page.HasMember("messages") || page["messages"].Empty()) break;
      for (auto& m : page["messages"].GetArray())
        records += jsonString(m, "type") == "station.record";
      after = std::to_string(page["next_after"].GetInt64());
    }
    return records >= stationRecords_;
  });
  waitFor("every bank to answer and the late one to be escalated", [&] {
    rapidjson::Document c = parsed(cc.http.get(std::string("/v1/cases/") + kCase).body);
    if (!c.HasMember("awaited") || !c["awaited"].Empty()) return false;
    int requests = 0;
    std::function<void(const rapidjson::Value&)> count = [&](const rapidjson::Value& n) {
      ++requests;
      for (auto& child : n["children"].GetArray()) count(child);
    };
    for (auto& n : c["requests"].GetArray()) count(n);
    rapidjson::Document escalations = parsed(cc.http.get("/v1/inbox?limit=1000").body);
    bool escalated = false;
    for (auto& m : escalations["messages"].GetArray())
      escalated = escalated || jsonString(m, "type") == "hub.escalation";
    return requests == 3 && escalated;
  });
  (void)request;
  waitFor("the DM office to acknowledge the notice and report action taken", [&] {
    rapidjson::Document s = parsed(sp.http.get("/v1/messages/" + notice).body);
    return s.HasMember("replies") && s["replies"].Size() >= 2;
  });
}

void Demo::saveCaseAndGraph() {
  HttpResponse c = party("cc.samastipur").http.get(std::string("/v1/cases/") + kCase);
  if (c.status != 200) throw DemoFailure("GET /v1/cases/" + std::string(kCase) + ": " + c.body);
  std::ofstream(dir_ + "/case-" + kCase + ".json") << c.body << "\n";
  HttpResponse g = party("sp.samastipur")
                       .http.get("/v1/reports/cyber-crime?from=" + monthsFrom_ +
                                 "&to=" + monthsTo_ + "&format=svg");
  if (g.status != 200) throw DemoFailure("GET /v1/reports/cyber-crime: " + g.body);
  std::ofstream(dir_ + "/cyber-crime.svg") << g.body;
}

// ---------------------------------------------------------------- the story as the hub saw it

struct Hop {
  std::string at, from, to, type, outcome;
  double latencyMs = -1;  // accepted → delivered to the recipient's system
  int count = 1;
};

double millisBetween(const std::string& from, const std::string& to) {
  auto ms = [](const std::string& t) {
    std::optional<std::int64_t> s = parseRfc3339(t);
    std::size_t dot = t.find('.');
    int frac = dot == std::string::npos ? 0 : std::atoi(t.substr(dot + 1, 3).c_str());
    return static_cast<double>(s.value_or(0)) * 1000 + frac;
  };
  return ms(to) - ms(from);
}

std::string describe(const MessageRecord& m) {
  rapidjson::Document e = storedEnvelope(m);
  const rapidjson::Value& body = e["body"];
  if (m.type == "freeze.request")
    return "layer " + std::to_string(body["layer"].GetInt()) + ", hold " +
           jsonString(body, "amount");
  if (m.type == "freeze.response")
    return jsonString(body, "status") + " " + jsonString(body, "held_amount");
  if (m.type == "hub.escalation")
    return jsonString(body, "reason") + " (" + m.ref.substr(0, 8) + "…)";
  if (m.type == "notice.ack") return jsonString(body, "status");
  if (m.type == "notice.awareness") return jsonString(body, "letter_no");
  return {};
}

void Demo::report() {
  std::unique_ptr<Store> store = openStore(config_.storeUrl);
  std::map<std::string, std::string> delivered;  // message id → audit time of its delivery
  std::vector<AuditEntry> accepted;
  store->forEachAudit([&](const AuditEntry& e) {
    if (e.event == "accepted") accepted.push_back(e);
    if (e.event == "delivered" || (e.event == "state" && e.outcome.rfind("delivered", 0) == 0))
      delivered.emplace(e.messageId, e.at);
    return true;
  });

  std::vector<Hop> hops;
  std::map<std::string, std::size_t> stationRow;  // station → its summary row
  for (const AuditEntry& e : accepted) {
    std::optional<MessageRecord> m = store->find(e.messageId);
    if (!m) continue;
    auto d = delivered.find(m->id);
    double latency = d == delivered.end() ? -1 : millisBetween(m->acceptedAt, d->second);
    if (m->type == "station.record") {
      auto [it, fresh] = stationRow.emplace(m->from, hops.size());
      if (fresh) {
        hops.push_back({m->acceptedAt, m->from, m->to, m->type, "", latency, 0});
      }
      Hop& h = hops[it->second];
      ++h.count;
      h.latencyMs = std::max(h.latencyMs, latency);
      h.outcome = std::to_string(h.count) + " records";
      continue;
    }
    std::string outcome = describe(*m);
    hops.push_back({m->acceptedAt, m->from, m->to, m->type,
                    outcome + (m->connector.empty() ? ", to inbox" : ", " + m->state), latency});
  }

  std::cout << "\ntimeline (hub time; latency: accepted → delivered to the recipient's system)\n";
  std::printf("%-12s  %-28s    %-24s  %-17s  %-36s %9s\n", "time", "from", "to", "type", "outcome",
              "latency");
  for (const Hop& h : hops) {
    std::string lat = h.latencyMs < 0 ? "-" : std::to_string(static_cast<int>(h.latencyMs)) + " ms";
    if (h.count > 1) lat = "≤ " + lat;
    std::printf("%-12s  %-28s -> %-24s  %-17s  %-36s %9s\n", h.at.substr(11, 12).c_str(),
                h.from.c_str(), h.to.c_str(), h.type.c_str(), h.outcome.c_str(), lat.c_str());
  }

  rapidjson::Document c = parsed(readFile(dir_ + "/case-" + kCase + ".json"));
  const rapidjson::Value& t = c["totals"];
  AuditCheck audit = verifyAuditChain(*store);
  std::cout << "\nsummary\n"
            << "  case " << kCase << ": disputed " << jsonString(t, "disputed") << ", held "
            << jsonString(t, "held") << ", escaped " << jsonString(t["escaped"], "total")
            << " (ATM " << jsonString(t["escaped"], "atm") << ")\n"
            << "  messages stored: " << store->messageCount() << " (" << stationRecords_
            << " station records from 5 stations)\n"
            << "  audit chain " << (audit.brokenSeq == 0 ? "verified" : "BROKEN") << ": "
            << audit.entries << " entries, head " << audit.head.substr(0, 16) << "…\n"
            << "  files: " << dir_ << "/case-" << kCase << ".json, " << dir_
            << "/cyber-crime.svg, logs in " << dir_ << "/\n";
  if (audit.brokenSeq != 0)
    throw DemoFailure("the audit chain is broken at seq " + std::to_string(audit.brokenSeq));
}

void Demo::keepRunning() {
  std::string tls = "--cert " + pki_ + "/cc.samastipur.crt --key " + pki_ +
                    "/cc.samastipur.key --cacert " + pki_ + "/ca.crt";
  std::cout << "\nThe hub is still running at " << hubUrl_ << " (config " << dir_
            << "/dxhub.json). Try:\n"
            << "  curl " << tls << " " << hubUrl_ << "/v1/cases/" << kCase << "\n"
            << "  curl " << tls << " " << hubUrl_ << "/v1/cases/" << kCase << "/drafts\n"
            << "  curl " << tls << " " << hubUrl_ << "/v1/reports/banks\n"
            << "  curl " << tls << " '" << hubUrl_ << "/v1/reports/cyber-crime?format=csv'\n"
            << "  build/dxhub audit verify --config " << dir_ << "/dxhub.json\n"
            << "Ctrl-C stops the hub and the simulators.\n";
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
}

int Demo::run() {
  auto started = SteadyClock::now();
  prepare();
  std::cout << "dxhub demo: Samastipur, over TLS on 127.0.0.1; files in " << dir_ << "\n";
  startParties();
  exportStationRecords();
  std::string request = postFreezeRequest();
  std::string notice = postNotice();
  waitForTheStory(request, notice);
  saveCaseAndGraph();
  if (keep_) {
    report();
    keepRunning();
  } else {
    hub_->stop();  // the timeline is read from the stopped hub's store
    report();
  }
  children_.clear();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  std::printf("done in %.1f s\n", seconds);
  return 0;
}

}  // namespace

int demoCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config", "dir"}, {"keep-running"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  Demo demo(args.get("config", "config/dxhub.json"), args.get("dir", "var/demo"),
            args.has("keep-running"));
  try {
    return demo.run();
  } catch (const DemoFailure& e) {
    std::cerr << "dxhub demo: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace dx::cli
