// The hub's own HTTP connection pieces: which request heads it refuses and how (against Poco
// 1.11's real parser), and the request-deadline watch on a loopback TCP pair with a hand-moved
// clock.
#include <chrono>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "http_connection.h"

namespace dx {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// What the connection answers to `head`: "431 too_large", "-" when it passes.
std::string verdict(const std::string& head, const HeadLimits& limits = {}) {
  Poco::Net::HTTPRequest request;
  std::istringstream in(head);
  try {
    request.read(in);
  } catch (const Poco::Net::MessageException& e) {
    HeadRefusal r = headRefusal(e, limits);
    return std::to_string(r.status) + " " + r.problem.code;
  }
  std::optional<HeadRefusal> r = checkHead(request, limits);
  return r ? std::to_string(r->status) + " " + r->problem.code : "-";
}

std::string fields(int n, std::size_t valueBytes) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += "X-F" + std::to_string(i) + ": " + std::string(valueBytes, 'v') + "\r\n";
  return out;
}

TEST(HeadLimits, RefusesWhatIsOverTheLimitsAndPassesTheRest) {
  const std::string get = "GET /v1/inbox HTTP/1.1\r\nHost: hub\r\n";
  EXPECT_EQ(verdict(get + fields(20, 100) + "\r\n"), "-");
  // Over the configured limits: found after Poco's parse.
  EXPECT_EQ(verdict("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"), "414 too_large");
  EXPECT_EQ(verdict(get + fields(11, 10) + "\r\n", {10, 32768, 8192}), "431 too_large");
  EXPECT_EQ(verdict(get + fields(40, 1000) + "\r\n"), "431 too_large");
  // Over Poco 1.11's own caps: its parser throws, the message tells which.
  EXPECT_EQ(verdict("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"), "414 too_large");
  EXPECT_EQ(verdict(get + fields(200, 1) + "\r\n"), "431 too_large");
  EXPECT_EQ(verdict(get + fields(1, 9000) + "\r\n"), "431 too_large");
  EXPECT_EQ(verdict(get + std::string(300, 'n') + ": v\r\n\r\n"), "431 too_large");
  // Not HTTP at all.
  EXPECT_EQ(verdict(std::string(40, 'G') + " /v1/inbox HTTP/1.1\r\n\r\n"), "400 malformed");
}

// A connected loopback pair: `server` as the hub's side.
struct Pair {
  Poco::Net::ServerSocket listener{Poco::Net::SocketAddress("127.0.0.1", 0)};
  Poco::Net::StreamSocket client{listener.address()};
  Poco::Net::StreamSocket server = listener.acceptConnection();
};

// True when a read on `s` ends at once (its receiving side was shut), false if it would wait.
bool readEnds(Poco::Net::StreamSocket& s) {
  if (!s.poll(Poco::Timespan(0, 200000), Poco::Net::Socket::SELECT_READ)) return false;
  char c;
  return s.receiveBytes(&c, 1) == 0;
}

TEST(RequestDeadlines, CutsOnlyRequestsPastTheirDeadline) {
  Steady::time_point now = Steady::now();
  RequestDeadlines deadlines(2s, 0ms, [&] { return now; });  // no watch thread: sweep by hand
  Pair slow, quick, idle;
  RequestDeadlines::Slot slowSlot, quickSlot, idleSlot;
  slowSlot.socket = slow.server;
  quickSlot.socket = quick.server;
  idleSlot.socket = idle.server;
  for (auto* s : {&slowSlot, &quickSlot, &idleSlot}) deadlines.add(*s);

  deadlines.begin(slowSlot);
  deadlines.begin(quickSlot);
  now += 1500ms;
  EXPECT_TRUE(deadlines.end(quickSlot));  // its body was read in time
  now += 499ms;
  EXPECT_EQ(deadlines.sweep(), 0);
  EXPECT_FALSE(readEnds(slow.server));
  now += 1ms;
  EXPECT_EQ(deadlines.sweep(), 1);
  EXPECT_TRUE(deadlines.expired(slowSlot));
  EXPECT_TRUE(readEnds(slow.server));
  EXPECT_FALSE(deadlines.end(slowSlot));  // too late: the connection answers 408
  // The other two: not cut, however long they wait between requests.
  now += 1h;
  EXPECT_EQ(deadlines.sweep(), 0);
  EXPECT_FALSE(deadlines.expired(quickSlot));
  EXPECT_FALSE(readEnds(quick.server));
  EXPECT_FALSE(readEnds(idle.server));
  // A cut connection can still write its answer.
  EXPECT_EQ(slow.server.sendBytes("408", 3), 3);
  char buf[3];
  EXPECT_EQ(slow.client.receiveBytes(buf, 3), 3);

  deadlines.stopAll();
  EXPECT_TRUE(quickSlot.stopped);
  EXPECT_TRUE(readEnds(quick.server));
  for (auto* s : {&slowSlot, &quickSlot, &idleSlot}) deadlines.remove(*s);
}

TEST(RequestDeadlines, WatchThreadCutsWithoutBeingAsked) {
  RequestDeadlines deadlines(100ms, 20ms);
  Pair pair;
  RequestDeadlines::Slot slot;
  slot.socket = pair.server;
  deadlines.add(slot);
  deadlines.begin(slot);
  const auto started = Steady::now();
  ASSERT_TRUE(pair.server.poll(Poco::Timespan(5, 0), Poco::Net::Socket::SELECT_READ));
  char c;
  EXPECT_EQ(pair.server.receiveBytes(&c, 1), 0);
  EXPECT_GE(Steady::now() - started, 90ms);
  EXPECT_TRUE(deadlines.expired(slot));
  deadlines.remove(slot);
}

}  // namespace
}  // namespace dx
