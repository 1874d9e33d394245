// dxhub serve: the hub as a server process.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/ServerApplication.h>

#include "cli.h"
#include "hub.h"
#include "log_channel.h"

namespace dx::cli {

namespace {

constexpr const char* kUsage = R"(usage: dxhub serve --config FILE [--listen HOST:PORT]

Runs the hub: the mutual-TLS API (POST /v1/messages, GET /v1/messages/{id}, GET /v1/inbox,
POST /v1/inbox/{id}/ack, GET /healthz, GET /metrics), the store and the audit log.
--listen overrides hub.listen of the config. SIGTERM or SIGINT: stop accepting, finish what is
in flight, write what is queued, close the store, exit 0. Logs go to stderr, one line a request.
)";

void setUpLogging() {
  Poco::AutoPtr<Poco::PatternFormatter> format(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
  format->setProperty("times", "UTC");
  // Logging never waits on the terminal inside a request (log_channel.h).
  Poco::AutoPtr<BatchedStderrChannel> channel(new BatchedStderrChannel(format));
  // Every logger, those made already included (Logger::setChannel("") reaches them all).
  Poco::Logger::setChannel("", channel);
  Poco::Logger::setLevel("", Poco::Message::PRIO_INFORMATION);
}

class ServeApplication : public Poco::Util::ServerApplication {
 public:
  explicit ServeApplication(HubState& state) : state_(state) {
    addSubsystem(new TrustSubsystem(state_));
    addSubsystem(new PolicySubsystem(state_));
    addSubsystem(new StoreSubsystem(state_));
    addSubsystem(new ConnectorSubsystem(state_));
    addSubsystem(new CasesSubsystem(state_));
    addSubsystem(new HttpSubsystem(state_));
  }

 protected:
  void initialize(Poco::Util::Application& self) override {
    try {
      setUpLogging();  // here: Application::run() replaces channels set before it
      ServerApplication::initialize(self);
    } catch (const Poco::Exception& e) {
      fail(e.displayText());
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  int main(const std::vector<std::string>&) override {
    state_.log->information("dxhub %s serving as %s", std::string(DXHUB_VERSION),
                            state_.config.hubId);
    waitForTerminationRequest();
    state_.log->information("stopping: finishing requests in flight");
    return EXIT_OK;
  }

 private:
  // A start-up problem is one line on stderr and exit 1; nothing has been written yet.
  [[noreturn]] static void fail(const std::string& what) {
    std::cerr << "dxhub serve: " << what << "\n";
    std::cerr.flush();
    std::_Exit(1);
  }

  HubState& state_;
};

}  // namespace

int serveCommand(int argc, char** argv) {
  Args args = parse(argc, argv, 2, {"config", "listen"});
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // only waitForTerminationRequest() receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  HubState state;
  state.config = loadConfig(args.require("config"));
  state.listen = args.get("listen", state.config.listen);
  ServeApplication app(state);
  char* appArgs[] = {argv[0], nullptr};
  int rc = app.run(1, appArgs);
  Poco::Logger::root().getChannel()->close();  // flush the log before exit
  return rc;
}

}  // namespace dx::cli
