// The request deadline (limits.request_deadline_s) against the real `dxhub serve`: a client
// that trickles its headers or its body, each byte well inside the read timeout, is cut off
// within the deadline and a little slack (with 408 `timeout`), while a normal client keeps being
// served, and a kept-alive connection idle for longer than the deadline is not cut.
#include <chrono>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "hub_process.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr int kDeadlineS = 2;

struct Trickled {
  double seconds = 0;   // from the connect until the hub ended the connection
  std::string answer;   // what the hub wrote before closing
  std::string failure;  // set if the trickle could not even start
};

// Connects with cc.samastipur's certificate, sends `head`, then one byte of `drip` every
// 300 ms until the hub answers or closes the connection (at most `limit`).
Trickled trickle(int port, const std::string& head, char drip, std::chrono::seconds limit) {
  Trickled t;
  const std::string pki = testPki();
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_CLIENT_USE, pki + "/cc.samastipur.key", pki + "/cc.samastipur.crt",
      pki + "/ca.crt", Poco::Net::Context::VERIFY_RELAXED);
  const auto started = Steady::now();
  try {
    Poco::Net::SecureStreamSocket s(context);
    s.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)),
              Poco::Timespan(5, 0));
    s.completeHandshake();
    s.sendBytes(head.data(), static_cast<int>(head.size()));
    char buf[4096];
    while (Steady::now() - started < limit) {
      if (s.poll(Poco::Timespan(0, 300000), Poco::Net::Socket::SELECT_READ)) {
        int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) break;
        t.answer.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (s.sendBytes(&drip, 1) != 1) break;
    }
  } catch (const Poco::Exception& e) {
    if (t.answer.empty() && Steady::now() - started < 1s) t.failure = e.displayText();
  }
  t.seconds = std::chrono::duration<double>(Steady::now() - started).count();
  return t;
}

// "408 timeout" from a raw HTTP answer: its status and its problem's code.
std::string statusAndCode(const std::string& answer) {
  if (answer.rfind("HTTP/1.1 ", 0) != 0) return "no HTTP answer: " + answer.substr(0, 80);
  std::string status = answer.substr(9, 3);
  std::size_t body = answer.find("\r\n\r\n");
  rapidjson::Document doc;
  if (body != std::string::npos) doc.Parse(answer.c_str() + body + 4);
  bool problem = answer.find("Content-Type: application/problem+json") != std::string::npos;
  if (!problem || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("code"))
    return status + " without a problem+json body";
  return status + " " + doc["code"].GetString();
}

TEST(RequestDeadline, TricklingClientsAreCutWhileOthersAreServed) {
  HubOptions options;
  options.requestDeadlineS = kDeadlineS;
  options.readTimeoutMs = 1500;  // every trickled byte comes well within it
  HubProcess hub(options);
  hub.start();

  const std::chrono::seconds limit(kDeadlineS + 6);
  auto headers = std::async(std::launch::async, [&] {
    return trickle(hub.port(), "GET /v1/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", 'a', limit);
  });
  auto body = std::async(std::launch::async, [&] {
    return trickle(hub.port(),
                   "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/jose+json\r\nContent-Length: 60000\r\n\r\n",
                   '{', limit);
  });

  // Meanwhile a normal client is served, on one kept-alive connection, with a pause longer than
  // the deadline between two requests: idle time between requests is not the request's.
  Client normal = Client::as(hub.port(), "cc.samastipur");
  int served = 0;
  const auto until = Steady::now() + std::chrono::seconds(kDeadlineS + 1);
  while (Steady::now() < until) {
    Response r = normal.get("/v1/inbox");
    EXPECT_EQ(r.status, 200) << r;
    served += r.status == 200;
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(std::chrono::seconds(kDeadlineS) + 500ms);
  Response after = normal.get("/v1/inbox");
  EXPECT_EQ(after.status, 200) << "a kept-alive connection idle past the deadline: " << after;

  for (auto* f : {&headers, &body}) {
    Trickled t = f->get();
    SCOPED_TRACE(f == &headers ? "trickled headers" : "trickled body");
    ASSERT_EQ(t.failure, "");
    EXPECT_GE(t.seconds, kDeadlineS - 0.1) << "cut before its deadline";
    EXPECT_LE(t.seconds, kDeadlineS + 1.5) << "not cut within the deadline and its slack";
    EXPECT_EQ(statusAndCode(t.answer), "408 timeout");
    std::cout << "[ info     ] " << (f == &headers ? "headers" : "body") << " trickle cut after "
              << t.seconds << " s (deadline " << kDeadlineS << " s)\n";
  }
  EXPECT_GE(served, 5);
  EXPECT_TRUE(hub.running());
  EXPECT_EQ(hub.stop(), 0);
}

}  // namespace
}  // namespace dx::test
