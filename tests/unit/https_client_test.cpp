// dx::HttpsClient against small servers on loopback: a real mutual-TLS Poco HTTPS server, and
// servers that misbehave (reset, never answer, foreign CA, not HTTP).
#include "dx/https_client.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <Poco/Event.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include "certificate.h"
#include "test_support.h"
#include "tls.h"

namespace dx {
namespace {

using namespace std::chrono_literals;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Handler = std::function<void(HTTPServerRequest&, HTTPServerResponse&)>;

TlsIdentity identity(const std::string& who) {
  const std::string& pki = test::pkiDir();
  return {pki + "/" + who + ".crt", pki + "/" + who + ".key", pki + "/ca.crt", pki + "/ca.crl"};
}

// The participant named by the TLS client's certificate, or empty.
std::string clientOf(HTTPServerRequest& request) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
  if (!impl) return {};
  Poco::Net::SecureStreamSocket socket(impl->socket());
  if (!socket.havePeerCertificate()) return {};
  return participantIdOf(const_cast<X509*>(socket.peerCertificate().certificate()));
}

// A Poco HTTPS server on 127.0.0.1 with the given certificate, asking for client certificates
// from the test CA; every request goes to `handler`.
class TestServer {
 public:
  TestServer(Handler handler, const std::string& certStem = "hub.samastipur",
             Poco::Timespan keepAlive = Poco::Timespan(10, 0))
      : handler_(std::move(handler)) {
    const std::string& pki = test::pkiDir();
    auto tls = makeServerContext({pki + "/" + certStem + ".crt", pki + "/" + certStem + ".key",
                                  pki + "/ca.crt", pki + "/ca.crl"});
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, tls);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(keepAlive);
    params->setMaxKeepAliveRequests(0);
    params->setTimeout(Poco::Timespan(5, 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
    server_->start();
  }
  ~TestServer() { server_->stopAll(true); }
  int port() const { return server_->port(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port()); }
  int connections() const { return server_->totalConnections(); }

 private:
  struct Dispatch : Poco::Net::HTTPRequestHandler {
    explicit Dispatch(TestServer& s) : server(s) {}
    void handleRequest(HTTPServerRequest& req, HTTPServerResponse& res) override {
      server.handler_(req, res);
    }
    TestServer& server;
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    explicit Factory(TestServer& s) : server(s) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
      return new Dispatch(server);
    }
    TestServer& server;
  };
  Handler handler_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

// Answers every request with 200: "<method> <uri> <client participant> <request body>".
Handler echo() {
  return [](HTTPServerRequest& req, HTTPServerResponse& res) {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    std::string answer = req.getMethod() + " " + req.getURI() + " " + clientOf(req) + " " + body;
    res.setContentType("text/plain");
    res.sendBuffer(answer.data(), answer.size());  // with a length, so the connection stays open
  };
}

// A listener (plain TCP unless given another socket) that runs `onAccept` for each connection on
// its own thread.
class RawServer {
 public:
  explicit RawServer(std::function<void(Poco::Net::StreamSocket&)> onAccept,
                     Poco::Net::ServerSocket socket =
                         Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)))
      : socket_(std::move(socket)), onAccept_(std::move(onAccept)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        if (!socket_.poll(Poco::Timespan(0, 20000), Poco::Net::Socket::SELECT_READ)) continue;
        try {
          Poco::Net::StreamSocket s = socket_.acceptConnection();
          onAccept_(s);
        } catch (const Poco::Exception&) {
        }
      }
    });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return socket_.address().port(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port()); }

 private:
  Poco::Net::ServerSocket socket_;
  std::function<void(Poco::Net::StreamSocket&)> onAccept_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
};

template <class F>
std::string transportError(F&& f) {
  try {
    f();
  } catch (const TransportError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  return "NO EXCEPTION";
}

TEST_F(HttpsClientTest, PostsOverMutualTlsAndReturnsStatusAndBody) {
  TestServer server(echo());
  HttpsClient client(server.url(), identity("bank.sbi"), 5000);
  HttpResponse r = client.post("/dx/v1/freeze", "application/jose+json", "{\"a\":1}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/plain");
  EXPECT_EQ(r.body, "POST /dx/v1/freeze bank.sbi {\"a\":1}");
  HttpResponse g = client.get("/healthz");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "GET /healthz bank.sbi ");
}

TEST_F(HttpsClientTest, OnlyTheOriginOfTheBaseUrlIsUsed) {
  TestServer server(echo());
  HttpsClient client(server.url() + "/bank/api/", identity("hub.samastipur"), 5000);
  EXPECT_EQ(client.get("/x").body, "GET /x hub.samastipur ");
}

TEST_F(HttpsClientTest, ServerErrorIsAStatusNotAnException) {
  TestServer server([](HTTPServerRequest&, HTTPServerResponse& res) {
    res.setStatus(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
    res.setContentType("application/problem+json");
    std::string answer = R"({"code":"busy"})";
    res.sendBuffer(answer.data(), answer.size());
  });
  HttpsClient client(server.url(), identity("hub.samastipur"), 5000);
  HttpResponse r = client.post("/p", "application/jose+json", "x");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.contentType, "application/problem+json");
  EXPECT_EQ(r.body, R"({"code":"busy"})");
}

TEST_F(HttpsClientTest, SequentialRequestsReuseOneConnection) {
  TestServer server(echo());
  HttpsClient client(server.url(), identity("hub.samastipur"), 5000);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.post("/p", "text/plain", "x").status, 200);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpsClientTest, ConcurrentCallersEachGetAKeptAliveConnection) {
  TestServer server(echo());
  HttpsClient client(server.url(), identity("hub.samastipur"), 5000);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        if (client.post("/p", "text/plain", "x").status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 40);
  EXPECT_LE(server.connections(), 4);
}

TEST_F(HttpsClientTest, ReconnectsWhenTheServerClosedAnIdleConnection) {
  TestServer server(echo(), "hub.samastipur", Poco::Timespan(0, 100000));  // 100 ms keep-alive
  HttpsClient client(server.url(), identity("hub.samastipur"), 5000);
  ASSERT_EQ(client.post("/p", "text/plain", "1").status, 200);
  std::this_thread::sleep_for(400ms);  // the server has closed the kept-alive connection
  HttpResponse r = client.post("/p", "text/plain", "2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /p hub.samastipur 2");
  EXPECT_EQ(server.connections(), 2);
}

// Reads one HTTP request (headers and a Content-Length body) from `s`; false at end of stream.
bool readRequest(Poco::Net::StreamSocket& s) {
  std::string data;
  char buf[4096];
  for (;;) {
    auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto cl = data.find("Content-Length: ");
      std::size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
      if (data.size() >= end + 4 + length) return true;
    }
    int n = s.receiveBytes(buf, sizeof buf);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

TEST_F(HttpsClientTest, RetriesOnceOnAFreshConnectionWhenAKeptAliveOneDiesMidRequest) {
  auto tls = makeServerContext({test::pkiDir() + "/hub.samastipur.crt",
                                test::pkiDir() + "/hub.samastipur.key", test::pkiDir() + "/ca.crt",
                                test::pkiDir() + "/ca.crl"});
  std::atomic<int> accepted{0};
  RawServer server(
      [&](Poco::Net::StreamSocket& s) {
        s.setReceiveTimeout(Poco::Timespan(5, 0));
        int n = ++accepted;
        if (!readRequest(s)) return;
        std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(n == 1 ? "5" : "6") +
                         "\r\nConnection: keep-alive\r\n\r\n" + (n == 1 ? "first" : "second");
        s.sendBytes(ok.data(), static_cast<int>(ok.size()));
        if (n == 1 && readRequest(s)) s.close();  // takes the next request, then hangs up
      },
      Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, tls));
  HttpsClient client(server.url(), identity("hub.samastipur"), 5000);
  EXPECT_EQ(client.post("/p", "text/plain", "1").body, "first");
  HttpResponse r = client.post("/p", "text/plain", "2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "second");
  EXPECT_EQ(accepted, 2);
}

TEST_F(HttpsClientTest, ConnectionRefusedIsATransportError) {
  int port;
  {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = s.address().port();
  }
  HttpsClient client("https://127.0.0.1:" + std::to_string(port), identity("hub.samastipur"), 2000);
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  EXPECT_NE(why.find("connection refused"), std::string::npos) << why;
}

TEST_F(HttpsClientTest, ServerThatResetsIsATransportError) {
  RawServer server([](Poco::Net::StreamSocket& s) {
    s.setLinger(true, 0);  // close with RST
    s.close();
  });
  HttpsClient client(server.url(), identity("hub.samastipur"), 2000);
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  EXPECT_NE(why.find("POST " + server.url() + "/p: "), std::string::npos) << why;
  EXPECT_EQ(why.find("WRONG"), std::string::npos) << why;
  EXPECT_EQ(why.find("NO EXCEPTION"), std::string::npos) << why;
}

TEST_F(HttpsClientTest, ServerThatNeverAnswersTimesOut) {
  // The kernel completes the TCP handshake; nobody ever speaks TLS.
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
  HttpsClient client("https://127.0.0.1:" + std::to_string(silent.address().port()),
                     identity("hub.samastipur"), 300);
  auto t0 = std::chrono::steady_clock::now();
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(why.find("timeout"), std::string::npos) << why;
  EXPECT_LT(elapsed, 2s) << why;
}

TEST_F(HttpsClientTest, SlowAnswerTimesOutAndTheNextRequestWorks) {
  std::atomic<bool> slow{true};
  Poco::Event release(Poco::Event::EVENT_MANUALRESET);
  TestServer server([&](HTTPServerRequest& req, HTTPServerResponse& res) {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    if (slow) release.tryWait(5000);
    res.sendBuffer("late", 4);
  });
  struct SetOnExit {
    Poco::Event& event;
    ~SetOnExit() { event.set(); }  // before the server stops: no handler left waiting
  } guard{release};
  HttpsClient client(server.url(), identity("hub.samastipur"), 300);
  auto t0 = std::chrono::steady_clock::now();
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_NE(why.find("timeout: no answer within 300 ms"), std::string::npos) << why;
  slow = false;
  release.set();
  EXPECT_EQ(client.post("/p", "text/plain", "x").status, 200);
}

TEST_F(HttpsClientTest, ServerWithForeignCaCertificateIsRefused) {
  TestServer server(echo(), "test/foreign");
  HttpsClient client(server.url(), identity("hub.samastipur"), 2000);
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  EXPECT_NE(why.find("TLS"), std::string::npos) << why;
}

TEST_F(HttpsClientTest, AnswerThatIsNotHttpIsATransportError) {
  auto tls = makeServerContext({test::pkiDir() + "/hub.samastipur.crt",
                                test::pkiDir() + "/hub.samastipur.key", test::pkiDir() + "/ca.crt",
                                test::pkiDir() + "/ca.crl"});
  RawServer server(
      [](Poco::Net::StreamSocket& s) {
        s.setReceiveTimeout(Poco::Timespan(2, 0));
        char buf[4096];
        s.receiveBytes(buf, sizeof buf);  // the handshake, then the request
        std::string junk = "SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n\r\n";
        s.sendBytes(junk.data(), static_cast<int>(junk.size()));
        s.close();
      },
      Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, tls));
  HttpsClient client(server.url(), identity("hub.samastipur"), 2000);
  std::string why = transportError([&] { client.post("/p", "text/plain", "x"); });
  EXPECT_NE(why.find("not HTTP"), std::string::npos) << why;
}

TEST_F(HttpsClientTest, BadBaseUrlOrIdentityIsATransportError) {
  EXPECT_NE(transportError([] {
              HttpsClient c("http://127.0.0.1:1", identity("bank.sbi"));
            }).find("not https://"),
            std::string::npos);
  TlsIdentity missing = identity("bank.sbi");
  missing.key = "/nonexistent/key.pem";
  std::string why = transportError([&] { HttpsClient c("https://127.0.0.1:1", missing); });
  EXPECT_NE(why.find("HTTPS client for https://127.0.0.1:1"), std::string::npos) << why;
}

}  // namespace
}  // namespace dx
