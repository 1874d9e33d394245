// dx_stress peer-faults: the hub pushing freeze requests through bank_freeze to two simulated
// banks (dx-sim-bank) over mutual TLS, while bank.sbi's endpoint misbehaves and bank.pnb's is
// healthy. For each fault: the requests to SBI are retried (or dead-lettered, as configured)
// and none is lost; PNB's requests are answered meanwhile (no delivery worker is stuck); once
// SBI's endpoint is repaired its requests are answered; the audit chain verifies.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <Poco/TemporaryFile.h>
#include <rapidjson/document.h>

#include "clock.h"
#include "drivers.h"
#include "jws.h"
#include "stress_support.h"
#include "test_support.h"

namespace dx::stress {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}
int integer(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsInt() ? v[key].GetInt() : 0;
}

struct Fault {
  std::string name;      // figure prefix
  std::string scenario;  // the faulty SBI's scenario ("" with down: no process at all)
  bool down = false, wrongCa = false;
  std::string expected;  // "retried" (then answered after repair), "delivered", "dead"
  int maxAttempts = 1000;
};

class Run {
 public:
  Run(const Fault& fault, int messages, Report& report)
      : fault_(fault), messages_(messages), report_(report) {
    dir_ = Poco::TemporaryFile::tempName() + "-peer-faults";
    std::filesystem::create_directories(dir_);
    sbiPort_ = freeLoopbackPort();
    pnbPort_ = freeLoopbackPort();
  }
  ~Run() {
    hub_.reset();
    sbi_.reset();
    pnb_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void go() {
    const std::string& f = fault_.name;
    pnb_ = bank("bank.pnb", pnbPort_, R"({"behaviour": "hold_all"})", false, "pnb");
    if (!fault_.down)
      sbi_ = bank("bank.sbi", sbiPort_, fault_.scenario, fault_.wrongCa, "sbi-faulty");
    startHub();
    std::vector<std::string> toSbi, toPnb;
    test::Client cc = test::Client::as(hub_->port(), "cc.samastipur");
    for (int i = 0; i < messages_; ++i) {
      for (auto [to, ids] : {std::pair{"bank.sbi", &toSbi}, std::pair{"bank.pnb", &toPnb}}) {
        Outgoing m = freezeRequest(to);
        PostOutcome o = post(cc, m);
        report_.check(o.receipted, f + ": message to " + to + " receipted");
        ids->push_back(m.id);
      }
    }
    // The healthy bank's requests go through while SBI's endpoint fails.
    auto t0 = Steady::now();
    int pnbAnswered = countUntil(
        toPnb, [](auto& s) { return str(s, "state") == "answered"; }, 20s);
    double pnbMs = std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
    report_.check(pnbAnswered == messages_, f +
                                                ": every request to the healthy bank is answered "
                                                "while the other fails (" +
                                                std::to_string(pnbAnswered) + ")");
    report_.figure(f + "_other_bank_answered_during_fault",
                   std::to_string(pnbAnswered) + " of " + std::to_string(messages_) + " in " +
                       std::to_string(static_cast<int>(pnbMs)) + " ms");

    if (fault_.expected == "retried") {
      // SBI's oldest request is being retried (attempts >= 2, an error recorded); the others
      // wait behind it, first in first out per recipient; none is settled.
      int retried = countUntil(
          {toSbi[0]}, [](auto& s) { return integer(s, "attempts") >= 2; }, 20s);
      report_.check(retried == 1, f + ": the faulty bank's oldest request is retried");
      int early = count(toSbi, [](auto& s) {
        return str(s, "state") == "answered" || str(s, "state") == "dead";
      });
      report_.check(early == 0, f + ": none is settled while the fault lasts");
      rapidjson::Document s = status(toSbi[0]);
      report_.figure(f + "_last_error", str(s, "last_error"));
      report_.figure(f + "_attempts_of_oldest_during_fault", integer(s, "attempts"));
      if (fault_.wrongCa)
        report_.check(bankSaw("sbi-faulty").empty(),
                      f + ": no request reached the server with the wrong CA's certificate");
      // Repair: a healthy endpoint on the same port.
      sbi_.reset();
      sbi_ = bank("bank.sbi", sbiPort_, R"({"behaviour": "hold_all"})", false, "sbi");
      int answered = countUntil(
          toSbi, [](auto& s) { return str(s, "state") == "answered"; }, 30s);
      report_.check(answered == messages_, f + ": every request is answered after the repair (" +
                                               std::to_string(answered) + ")");
      report_.figure(f + "_outcome", "retried, answered after repair: " + std::to_string(answered) +
                                         " of " + std::to_string(messages_));
      lost_ = messages_ - answered;
    } else if (fault_.expected == "delivered") {
      int delivered = countUntil(
          toSbi, [](auto& s) { return str(s, "state") == "delivered"; }, 20s);
      report_.check(delivered == messages_,
                    f + ": a 2xx is the bank's acknowledgement: delivered, not answered (" +
                        std::to_string(delivered) + ")");
      report_.figure(f + "_outcome",
                     "delivered (2xx), body not taken as an answer: " + std::to_string(delivered) +
                         " of " + std::to_string(messages_));
      lost_ = messages_ - delivered;
    } else {  // dead
      int dead = countUntil(
          toSbi, [](auto& s) { return str(s, "state") == "dead"; }, 30s);
      int escalated = escalations(toSbi);
      report_.check(dead == messages_,
                    f + ": dead after max_attempts (" + std::to_string(dead) + ")");
      report_.check(escalated == messages_, f + ": the cyber cell has a hub.escalation for each (" +
                                                std::to_string(escalated) + ")");
      report_.figure(f + "_outcome", "dead after " + std::to_string(fault_.maxAttempts) +
                                         " attempts, escalated: " + std::to_string(escalated) +
                                         " of " + std::to_string(messages_));
      lost_ = messages_ - escalated;
    }
    // Each answered request has exactly one stored answer, however often the bank saw it.
    int extraReplies = count(toSbi, [](auto& s) {
      return s.HasMember("replies") && s["replies"].IsArray() && s["replies"].Size() > 1;
    });
    report_.check(extraReplies == 0, f + ": no request has two stored answers");
    std::map<std::string, int> saw = bankSaw("sbi-faulty"), sawAfter = bankSaw("sbi");
    int repeats = 0;
    for (const std::string& id : toSbi) repeats += std::max(0, saw[id] + sawAfter[id] - 1);
    report_.figure(f + "_lost", lost_);
    report_.figure(f + "_repeated_at_bank", repeats);
    report_.check(lost_ == 0, f + ": lost = 0 (" + std::to_string(lost_) + ")");
    report_.check(hub_->running(), f + ": the hub is still running");
    int stopStatus = hub_->stop();
    report_.check(stopStatus == 0,
                  f + ": the hub stops cleanly (" + std::to_string(stopStatus) + ")");
    test::CommandResult audit =
        hub_->runCommand({"audit", "verify", "--config", hub_->configPath()});
    report_.check(audit.exitCode == 0, f + ": audit verify: " + audit.output);
  }

  int lost() const { return lost_; }

 private:
  std::unique_ptr<ChildProcess> bank(const std::string& id, int port,
                                           const std::string& scenario, bool wrongCa,
                                           const std::string& tag) {
    std::string scenarioPath = dir_ + "/" + tag + ".json";
    std::ofstream(scenarioPath) << scenario;
    std::vector<std::string> args = {"--id",       id,
                                     "--pki",      test::testPki(),
                                     "--listen",   "127.0.0.1:" + std::to_string(port),
                                     "--scenario", scenarioPath,
                                     "--record",   dir_ + "/" + tag + ".jsonl"};
    if (wrongCa) {
      args.insert(args.end(), {"--tls-cert", test::testPki() + "/test/foreign.crt", "--tls-key",
                               test::testPki() + "/test/foreign.key"});
    }
    auto child = std::make_unique<ChildProcess>(buildDir() + "/dx-sim-bank", args,
                                                      dir_ + "/" + tag + ".log");
    // Ready when it accepts connections (the hub's retries would cope, but the test is quicker).
    for (int i = 0; i < 100; ++i) {
      try {
        Poco::Net::StreamSocket probe;
        probe.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)),
                      Poco::Timespan(0, 200000));
        break;
      } catch (const Poco::Exception&) {
        std::this_thread::sleep_for(50ms);
      }
    }
    return child;
  }

  void startHub() {
    test::HubOptions options;
    options.pluginsJson = R"([{"name": "bank_freeze", "library": ")" + buildDir() +
                          R"(/plugins/libdx_bank_freeze.so", "serves": ["bank.sbi", "bank.pnb"],
      "types": ["freeze.request", "freeze.release"],
      "delivery": {"initial_backoff_ms": 100, "max_backoff_ms": 300, "timeout_ms": 2000,
                   "max_attempts": )" +
                          std::to_string(fault_.maxAttempts) + R"(},
      "config": {"endpoints": {"bank.sbi": "https://127.0.0.1:)" +
                          std::to_string(sbiPort_) + R"(", "bank.pnb": "https://127.0.0.1:)" +
                          std::to_string(pnbPort_) + R"("}, "timeout_ms": 500}}])";
    hub_ = std::make_unique<test::HubProcess>(options);
    hub_->start();
  }

  rapidjson::Document status(const std::string& id) {
    rapidjson::Document d;
    std::string body = reader().get("/v1/messages/" + id).body;
    d.Parse(body.c_str(), body.size());
    return d;
  }
  test::Client& reader() {
    if (!reader_)
      reader_ = std::make_unique<test::Client>(test::Client::as(hub_->port(), "cc.samastipur"));
    return *reader_;
  }
  int count(const std::vector<std::string>& ids,
            const std::function<bool(rapidjson::Document&)>& done) {
    int n = 0;
    for (const std::string& id : ids) {
      rapidjson::Document s = status(id);
      n += done(s) ? 1 : 0;
    }
    return n;
  }
  // How many of `ids` satisfy `done`, waiting up to `limit` for all of them.
  int countUntil(const std::vector<std::string>& ids,
                 const std::function<bool(rapidjson::Document&)>& done,
                 std::chrono::seconds limit) {
    auto deadline = Steady::now() + limit;
    for (;;) {
      int n = count(ids, done);
      if (n == static_cast<int>(ids.size()) || Steady::now() > deadline) return n;
      std::this_thread::sleep_for(100ms);
    }
  }
  // id -> how often the bank with this tag received it.
  std::map<std::string, int> bankSaw(const std::string& tag) {
    std::map<std::string, int> saw;
    std::ifstream in(dir_ + "/" + tag + ".jsonl");
    std::string line;
    while (std::getline(in, line)) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      ++saw[str(d, "id")];
    }
    return saw;
  }
  int escalations(const std::vector<std::string>& ids) {
    auto deadline = Steady::now() + 10s;
    int found = 0;
    do {
      std::string body = reader().get("/v1/inbox?after=0&limit=1000").body;
      rapidjson::Document inbox;
      inbox.Parse(body.c_str(), body.size());
      found = 0;
      if (inbox.IsObject() && inbox.HasMember("messages") && inbox["messages"].IsArray())
        for (auto& m : inbox["messages"].GetArray()) {
          auto v =
              verifyJws(str(m, "jws"), test::registry(), SystemClock::instance().unixSeconds());
          if (v && v->type() == "hub.escalation" && v->from() == "hub.samastipur" &&
              str(v->envelope["body"], "reason") == "delivery_failed" &&
              std::find(ids.begin(), ids.end(), str(v->envelope["body"], "message")) != ids.end())
            ++found;
        }
      if (found < static_cast<int>(ids.size())) std::this_thread::sleep_for(100ms);
    } while (found < static_cast<int>(ids.size()) && Steady::now() < deadline);
    return found;
  }

  Fault fault_;
  int messages_;
  Report& report_;
  std::string dir_;
  int sbiPort_ = 0, pnbPort_ = 0, lost_ = 0;
  std::unique_ptr<ChildProcess> sbi_, pnb_;
  std::unique_ptr<test::HubProcess> hub_;
  std::unique_ptr<test::Client> reader_;
};

}  // namespace

int peerFaults(int argc, char** argv) {
  Flags flags(argc, argv, {"--messages"});
  const int messages = static_cast<int>(flags.number("--messages", 5));
  Report report("peer_faults",
                "A bank endpoint that is down, slower than the timeout, resets connections, "
                "answers garbage or presents a certificate from another CA: its requests are "
                "retried (or dead-lettered after max_attempts, with an escalation to the sender), "
                "none is lost, another bank's requests are answered meanwhile, and after the "
                "repair every request is answered once.");
  const std::vector<Fault> faults = {
      {"down", "", true, false, "retried"},
      {"slow", R"({"behaviour": "hold_all", "delay_ms": 3000})", false, false, "retried"},
      {"reset", R"({"behaviour": "hold_all", "reset": true})", false, false, "retried"},
      {"wrong_ca", R"({"behaviour": "hold_all"})", false, true, "retried"},
      {"garbage", R"({"behaviour": "hold_all", "garbage": true})", false, false, "delivered"},
      {"reset_dead_letter", R"({"behaviour": "hold_all", "reset": true})", false, false, "dead", 3},
  };
  int lost = 0;
  for (const Fault& fault : faults) {
    std::cout << "peer-faults: " << fault.name << std::endl;
    Run run(fault, messages, report);
    run.go();
    lost += run.lost();
  }
  report.figure("faults", static_cast<double>(faults.size()));
  report.figure("messages_per_bank_and_fault", messages);
  report.figure("lost_total", lost);
  return report.finish(flags.figures());
}

}  // namespace dx::stress
