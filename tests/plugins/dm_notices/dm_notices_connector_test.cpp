// The dm_notices connector with a fake ConnectorContext, a real SMTP server (aiosmtpd) and, for the
// optional push, a real HTTPS endpoint with mutual TLS.
#include "dm_notices_connector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include <Poco/Base64Decoder.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/StreamCopier.h>

#include "../../smtp/smtp_sink.h"
#include "certificate.h"
#include "dm_test_support.h"
#include "tls.h"

namespace dx::dm_notices {
namespace {

using Kind = DeliveryResult::Kind;
using test::SmtpSink;

std::string str(const rapidjson::Value& v) {
  return v.IsString() ? v.GetString() : "<null>";
}

std::string decodeBase64(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  std::string out;
  Poco::StreamCopier::copyToString(decoder, out);
  return out;
}

std::string jsonString(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s);
  return buf.GetString();
}

// A started connector for the SMTP server on `smtpPort`, with `extra` config keys.
struct Started {
  test::FakeContext context;
  DmNoticesConnector connector;
};

std::unique_ptr<Started> start(int smtpPort, std::map<std::string, std::string> extra = {}) {
  auto s = std::make_unique<Started>();
  std::map<std::string, std::string> config = {
      {"smtp", R"({"host":"127.0.0.1","port":)" + std::to_string(smtpPort) + "}"},
      {"from", R"("dxhub@samastipur.example")"},
      {"recipients", R"({"dm.samastipur":["dm-office@samastipur.example"]})"},
      {"timeout_ms", "3000"}};
  for (auto& [k, v] : extra) config[k] = v;
  s->connector.start(s->context, test::settingsFor(s->connector, config));
  return s;
}

// The body of the example notice, for what the mail must carry.
struct ExampleNotice {
  std::string letterNo, subjectHi, subjectEn, textHi, textEn;
  ExampleNotice() {
    rapidjson::Document d;
    parseStrict(test::exampleNoticeBody(), d);
    letterNo = d["letter_no"].GetString();
    subjectHi = d["subject"]["hi"].GetString();
    subjectEn = d["subject"]["en"].GetString();
    textHi = d["text"]["hi"].GetString();
    textEn = d["text"]["en"].GetString();
  }
};

TEST(DmNoticesConnector, NoticeArrivesAsOneMailWithHindiIntactAndTheJwsAttachedAndVerifiable) {
  SmtpSink sink;
  auto s = start(sink.port());
  Message notice = test::signedNotice();
  DeliveryResult r = s->connector.deliver(notice);
  ASSERT_EQ(r.kind, Kind::Delivered) << r.reason << "\n" << sink.log();

  ASSERT_EQ(sink.mails().size(), 1u);
  rapidjson::Document mail = test::readMail(sink.mails()[0]);
  ExampleNotice n;
  EXPECT_EQ(str(mail["subject"]), n.subjectEn + " / " + n.subjectHi);
  EXPECT_EQ(str(mail["message_id"]), "<" + notice.id + "@hub.samastipur>");
  EXPECT_EQ(str(mail["from"]), "dxhub@samastipur.example");
  ASSERT_EQ(mail["to"].Size(), 1u);
  EXPECT_EQ(str(mail["to"][0]), "dm-office@samastipur.example");

  const rapidjson::Value& parts = mail["parts"];
  ASSERT_EQ(parts.Size(), 3u);
  std::string hi = str(parts[0]["text"]), en = str(parts[1]["text"]);
  EXPECT_EQ(str(parts[0]["language"]), "hi");
  EXPECT_EQ(hi.substr(0, hi.find('\n')), "पत्रांक: " + n.letterNo);
  EXPECT_NE(hi.find(n.textHi), std::string::npos) << hi;
  EXPECT_EQ(str(parts[1]["language"]), "en");
  EXPECT_EQ(en.substr(0, en.find('\n')), "Letter No.: " + n.letterNo);
  EXPECT_NE(en.find(n.textEn), std::string::npos) << en;
  EXPECT_NE(en.find("Respond by: 2026-10-20"), std::string::npos) << en;

  // The attachment is the signed original, byte for byte, and verifies with the SP office's
  // certificate.
  EXPECT_EQ(str(parts[2]["filename"]), "notice-" + notice.id + ".jws");
  EXPECT_EQ(str(parts[2]["content_type"]), "application/jose+json");
  std::string attached = decodeBase64(str(parts[2]["base64"]));
  EXPECT_EQ(attached, notice.jws);
  Expected<JwsParts> jws = splitJws(attached, {});
  ASSERT_TRUE(jws);
  rapidjson::Document header;
  ASSERT_FALSE(parseStrict(jws->header, header));
  std::optional<JwsAlg> alg = parseJwsAlg(str(header["alg"]));
  ASSERT_TRUE(alg);
  Certificate sp = Certificate::fromPemFile(test::pkiDir() + "/sp.samastipur.crt");
  EXPECT_EQ(str(header["x5t#S256"]), sp.thumbprint());
  EXPECT_TRUE(verifyBytes(*alg, sp.publicKey(), jws->signingInput, jws->signature));
  EXPECT_FALSE(verifyBytes(*alg, sp.publicKey(), jws->signingInput + "x", jws->signature));
}

TEST(DmNoticesConnector, SmtpServerDownIsRetry) {
  auto s = start(test::freeLoopbackPort());
  DeliveryResult r = s->connector.deliver(test::signedNotice());
  EXPECT_EQ(r.kind, Kind::Retry);
  EXPECT_NE(r.reason.find("smtp"), std::string::npos) << r.reason;
}

TEST(DmNoticesConnector, SmtpRefusal550IsReject) {
  test::SmtpSinkOptions options;
  options.refuse = "550 5.7.1 Mailbox unavailable";
  SmtpSink sink(options);
  auto s = start(sink.port());
  DeliveryResult r = s->connector.deliver(test::signedNotice());
  EXPECT_EQ(r.kind, Kind::Reject);
  EXPECT_NE(r.reason.find("550"), std::string::npos) << r.reason;
}

TEST(DmNoticesConnector, SmtpTemporaryRefusalIsRetry) {
  test::SmtpSinkOptions options;
  options.refuse = "451 4.3.0 Try again later";
  SmtpSink sink(options);
  auto s = start(sink.port());
  EXPECT_EQ(s->connector.deliver(test::signedNotice()).kind, Kind::Retry);
}

TEST(DmNoticesConnector, OtherMessageTypesAreRejectedAndNotMailed) {
  SmtpSink sink;
  auto s = start(sink.port());
  Message ack = test::signedMessage("notice.ack", "dm.samastipur", "sp.samastipur",
                                    R"({"status":"received"})", newUuid());
  DeliveryResult r = s->connector.deliver(ack);
  EXPECT_EQ(r.kind, Kind::Reject);
  EXPECT_EQ(r.reason, "dm_notices delivers notice.awareness only");
  EXPECT_TRUE(sink.mails().empty());
}

TEST(DmNoticesConnector, RecipientWithoutAddressOrEndpointIsRejected) {
  auto s = start(test::freeLoopbackPort());
  DeliveryResult r = s->connector.deliver(test::signedNotice("dm.darbhanga"));
  EXPECT_EQ(r.kind, Kind::Reject);
  EXPECT_NE(r.reason.find("dm.darbhanga"), std::string::npos) << r.reason;
}

TEST(DmNoticesConnector, ConfigMistakesStopStartNamingTheKey) {
  auto startWith = [](std::map<std::string, std::string> extra) -> std::string {
    try {
      start(25, std::move(extra));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "started";
  };
  EXPECT_NE(startWith({{"smtp", R"({"hots":"mail.example"})"}}).find("smtp.hots"),
            std::string::npos);
  EXPECT_NE(startWith({{"smtp", R"({"starttls":"maybe"})"}}).find("smtp.starttls"),
            std::string::npos);
  EXPECT_NE(startWith({{"from", R"("not an address")"}}).find("from"), std::string::npos);
  EXPECT_NE(startWith({{"recipients", R"({"dm.samastipur":[]})"}}).find("recipients.dm"),
            std::string::npos);
  EXPECT_NE(startWith({{"endpoints", R"({"dm.samastipur":"http://plain.example"})"}})
                .find("endpoints.dm.samastipur"),
            std::string::npos);
  EXPECT_EQ(startWith({{"smtp", R"({"host":"mail.example"})"}}), "started");  // defaults fill in
}

// An HTTPS endpoint of the DM office: mutual TLS with the dev PKI (server: dm.samastipur's
// certificate, which names 127.0.0.1), answering with a status the test sets.
class FakeEndpoint {
 public:
  FakeEndpoint() {
    const std::string& pki = test::pkiDir();
    auto context = makeServerContext(
        {pki + "/dm.samastipur.crt", pki + "/dm.samastipur.key", pki + "/ca.crt", pki + "/ca.crl"});
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
    server_->start();
  }
  ~FakeEndpoint() { server_->stopAll(true); }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/dm-office"; }
  std::atomic<int> status{202};

  struct Request {
    std::string path, contentType, body, client;
  };
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(FakeEndpoint& e) : e_(e) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      Request r;
      r.path = request.getURI();
      r.contentType = request.getContentType();
      Poco::StreamCopier::copyToString(request.stream(), r.body);
      auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
      Poco::Net::SecureStreamSocket socket(impl.socket());
      if (socket.havePeerCertificate())
        r.client = participantIdOf(const_cast<X509*>(socket.peerCertificate().certificate()));
      {
        std::lock_guard<std::mutex> lock(e_.mutex_);
        e_.requests_.push_back(r);
      }
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(e_.status.load()));
      response.setContentType("application/json");
      response.send() << R"({"answer":"from the DM office"})";
    }

   private:
    FakeEndpoint& e_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(FakeEndpoint& e) : e_(e) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(e_);
    }

   private:
    FakeEndpoint& e_;
  };

  int port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::mutex mutex_;
  std::vector<Request> requests_;
};

TEST(DmNoticesConnector, EndpointGetsTheJwsWithTheHubsCertificateAfterTheMail) {
  SmtpSink sink;
  FakeEndpoint endpoint;
  auto s = start(sink.port(),
                 {{"endpoints", R"({"dm.samastipur":)" + jsonString(endpoint.url()) + "}"}});
  Message notice = test::signedNotice();
  DeliveryResult r = s->connector.deliver(notice);
  ASSERT_EQ(r.kind, Kind::Delivered) << r.reason;
  EXPECT_EQ(sink.mails().size(), 1u);
  auto requests = endpoint.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/dm-office/dx/v1/notices");
  EXPECT_EQ(requests[0].contentType, "application/jose+json");
  EXPECT_EQ(requests[0].body, notice.jws);
  EXPECT_EQ(requests[0].client, "hub.samastipur");
}

TEST(DmNoticesConnector, EndpointBusyIsRetryAndTheRetryDoesNotMailAgain) {
  SmtpSink sink;
  FakeEndpoint endpoint;
  auto s = start(sink.port(),
                 {{"endpoints", R"({"dm.samastipur":)" + jsonString(endpoint.url()) + "}"}});
  Message notice = test::signedNotice();
  endpoint.status = 503;
  EXPECT_EQ(s->connector.deliver(notice).kind, Kind::Retry);
  endpoint.status = 429;
  EXPECT_EQ(s->connector.deliver(notice).kind, Kind::Retry);
  endpoint.status = 200;
  EXPECT_EQ(s->connector.deliver(notice).kind, Kind::Delivered);
  EXPECT_EQ(endpoint.requests().size(), 3u);
  EXPECT_EQ(sink.mails().size(), 1u) << "within one run a retry only repeats the push";
}

TEST(DmNoticesConnector, EndpointRefusal4xxIsReject) {
  SmtpSink sink;
  FakeEndpoint endpoint;
  endpoint.status = 422;
  auto s = start(sink.port(),
                 {{"endpoints", R"({"dm.samastipur":)" + jsonString(endpoint.url()) + "}"}});
  DeliveryResult r = s->connector.deliver(test::signedNotice());
  EXPECT_EQ(r.kind, Kind::Reject);
  EXPECT_NE(r.reason.find("422"), std::string::npos) << r.reason;
}

TEST(DmNoticesConnector, EndpointOnlyOfficeIsPushedWithoutMail) {
  FakeEndpoint endpoint;
  auto s = start(test::freeLoopbackPort(),  // no SMTP server: it must not be needed
                 {{"recipients", "{}"},
                  {"endpoints", R"({"dm.samastipur":)" + jsonString(endpoint.url()) + "}"}});
  EXPECT_EQ(s->connector.deliver(test::signedNotice()).kind, Kind::Delivered);
  EXPECT_EQ(endpoint.requests().size(), 1u);
}

TEST(DmNoticesConnector, EndpointDownIsRetry) {
  SmtpSink sink;
  auto s =
      start(sink.port(), {{"endpoints", R"({"dm.samastipur":"https://127.0.0.1:)" +
                                            std::to_string(test::freeLoopbackPort()) + "\"}"}});
  DeliveryResult r = s->connector.deliver(test::signedNotice());
  EXPECT_EQ(r.kind, Kind::Retry);
  EXPECT_NE(r.reason.find("https"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace dx::dm_notices
