// dx::SmtpClient against a real SMTP server (Debian's aiosmtpd, tests/smtp/dx_smtp_sink.py): what
// arrives is decoded by Python's email package, an implementation independent of Poco's.
#include "dx/smtp_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <Poco/Base64Decoder.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include "../smtp/smtp_sink.h"
#include "test_support.h"

namespace dx {
namespace {

using test::SmtpSink;
using test::SmtpSinkOptions;

const std::string kSubject =
    "साइबर अपराध से बचाव हेतु जन-जागरूकता अभियान के संबंध में / "
    "Public awareness campaign against cyber fraud";
const std::string kHindi =
    "पत्रांक: SP/SAM/CYB/2026/118\n"
    "जिले में साइबर अपराधी फोन कॉल द्वारा आम जनता से बैंक और आधार का विवरण मांग कर ठगी कर रहे "
    "हैं।\n.\n.पंक्ति जो बिंदु से शुरू होती है\n";
const std::string kEnglish =
    "Letter No. SP/SAM/CYB/2026/118\n"
    "Please take steps to make the public aware.\n"
    ".a line that starts with a dot\n"
    "From the SP office, Samastipur\n";

std::string allBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes + "\r\n.\r\n" + bytes;
}

Mail notice() {
  Mail mail;
  mail.from = "dxhub@samastipur.example";
  mail.to = {"dm-office@samastipur.example", "dm-records@samastipur.example"};
  mail.subject = kSubject;
  mail.messageId = "0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012@hub.samastipur";
  mail.texts = {{"hi", kHindi}, {"en", kEnglish}};
  mail.attachments = {{"notice-0b6f3c4e.jws", "application/jose+json", allBytes()}};
  return mail;
}

SmtpSettings settingsFor(const SmtpSink& sink) {
  SmtpSettings s;
  s.port = sink.port();
  s.timeoutMs = 5000;
  return s;
}

std::string decodeBase64(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  std::string out;
  Poco::StreamCopier::copyToString(decoder, out);
  return out;
}

std::string str(const rapidjson::Value& v) {
  return v.IsString() ? v.GetString() : "<null>";
}

TEST(SmtpClient, HindiSubjectTextsAttachmentAndMessageIdArriveIntact) {
  SmtpSink sink;
  SmtpClient(settingsFor(sink)).send(notice());

  ASSERT_EQ(sink.mails().size(), 1u) << sink.log();
  std::string eml = sink.mails()[0];
  rapidjson::Document mail = test::readMail(eml);
  EXPECT_EQ(str(mail["subject"]), kSubject);
  EXPECT_TRUE(mail["subject_words_whole"].GetBool())
      << "an RFC 2047 word splits a character: " << str(mail["raw_subject"]);
  EXPECT_EQ(str(mail["message_id"]), "<0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012@hub.samastipur>");
  EXPECT_EQ(str(mail["from"]), "dxhub@samastipur.example");
  ASSERT_EQ(mail["to"].Size(), 2u);
  EXPECT_EQ(str(mail["to"][1]), "dm-records@samastipur.example");
  EXPECT_EQ(str(mail["content_type"]), "multipart/mixed");

  const rapidjson::Value& parts = mail["parts"];
  ASSERT_EQ(parts.Size(), 3u);
  EXPECT_EQ(str(parts[0]["content_type"]), "text/plain");
  EXPECT_EQ(str(parts[0]["charset"]), "utf-8");
  EXPECT_EQ(str(parts[0]["language"]), "hi");
  EXPECT_EQ(str(parts[0]["text"]), kHindi);
  EXPECT_EQ(str(parts[1]["language"]), "en");
  EXPECT_EQ(str(parts[1]["charset"]), "utf-8");
  EXPECT_EQ(str(parts[1]["text"]), kEnglish);
  EXPECT_EQ(str(parts[2]["content_type"]), "application/jose+json");
  EXPECT_EQ(str(parts[2]["disposition"]), "attachment");
  EXPECT_EQ(str(parts[2]["filename"]), "notice-0b6f3c4e.jws");
  EXPECT_EQ(decodeBase64(str(parts[2]["base64"])), allBytes());

  // No header line is longer than RFC 5322's 78 characters (the subject is folded).
  std::istringstream raw(test::readWholeFile(eml));
  std::string line;
  while (std::getline(raw, line) && line != "\r" && !line.empty())
    EXPECT_LE(line.size(), 79u) << line;  // 78 + the \r

  rapidjson::Document envelope;
  ASSERT_FALSE(parseStrict(SmtpSink::envelopeOf(eml), envelope));
  EXPECT_EQ(str(envelope["mail_from"]), "dxhub@samastipur.example");
  EXPECT_EQ(envelope["rcpt_tos"].Size(), 2u);
  EXPECT_FALSE(envelope["tls"].GetBool());
}

TEST(SmtpClient, PermanentRefusalIsSmtpRejected) {
  SmtpSinkOptions options;
  options.refuse = "550 5.7.1 Refused by policy";
  SmtpSink sink(options);
  try {
    SmtpClient(settingsFor(sink)).send(notice());
    FAIL() << "no exception";
  } catch (const SmtpRejected& e) {
    EXPECT_NE(std::string(e.what()).find("550"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sink.mails().empty());
}

TEST(SmtpClient, TemporaryRefusalIsTransportError) {
  SmtpSinkOptions options;
  options.refuse = "451 4.3.0 Try again later";
  SmtpSink sink(options);
  EXPECT_THROW(SmtpClient(settingsFor(sink)).send(notice()), TransportError);
}

TEST(SmtpClient, NoServerIsTransportError) {
  SmtpSettings s;
  s.port = test::freeLoopbackPort();
  s.timeoutMs = 2000;
  EXPECT_THROW(SmtpClient(s).send(notice()), TransportError);
}

TEST(SmtpClient, ServerThatNeverGreetsTimesOutAsTransportError) {
  // The kernel completes the connection (listen backlog) but nobody ever speaks.
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
  SmtpSettings s;
  s.port = silent.address().port();
  s.timeoutMs = 300;
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(SmtpClient(s).send(notice()), TransportError);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(SmtpClient, UnsendableAddressIsRejectedBeforeDialling) {
  Mail mail = notice();
  mail.to = {"dm-office@samastipur.example>\r\nRCPT TO:<someone@else.example"};
  SmtpSettings s;
  s.port = test::freeLoopbackPort();  // nothing listens: a dial would be a TransportError
  EXPECT_THROW(SmtpClient(s).send(mail), SmtpRejected);
}

// The test PKI: test::pkiDir() runs make-dev-pki.sh (seconds) in every test process (ctest runs
// each test in its own); when the files used here are there already, they are taken as they are.
const std::string& pki() {
  static const std::string dir = [] {
    std::string d = std::string(DX_BINARY_DIR) + "/test-pki";
    for (const char* f :
         {"ca.crt", "ca.crl", "hub.samastipur.crt", "hub.samastipur.key", "test/foreign-ca.crt"})
      if (::access((d + "/" + f).c_str(), R_OK) != 0) return test::pkiDir();
    return d;
  }();
  return dir;
}

// STARTTLS with the hub's dev certificate (it names 127.0.0.1), then AUTH LOGIN over TLS.
SmtpSinkOptions tlsSink() {
  SmtpSinkOptions options;
  options.tlsCert = pki() + "/hub.samastipur.crt";
  options.tlsKey = pki() + "/hub.samastipur.key";
  options.user = "dxhub";
  options.password = "s3cret-for-tests";
  return options;
}

TEST(SmtpClient, StartTlsVerifiedAgainstCaFileThenAuthLogin) {
  SmtpSink sink(tlsSink());
  SmtpSettings s = settingsFor(sink);
  s.caFile = pki() + "/ca.crt";
  s.username = "dxhub";
  s.password = "s3cret-for-tests";
  SmtpClient(s).send(notice());  // starttls "auto": the server offers it

  ASSERT_EQ(sink.mails().size(), 1u) << sink.log();
  rapidjson::Document envelope;
  ASSERT_FALSE(parseStrict(SmtpSink::envelopeOf(sink.mails()[0]), envelope));
  EXPECT_TRUE(envelope["tls"].GetBool());
  EXPECT_EQ(str(envelope["auth"]), "dxhub");
  EXPECT_EQ(str(test::readMail(sink.mails()[0])["subject"]), kSubject);
}

TEST(SmtpClient, CertificateFromAnotherCaIsNeverAccepted) {
  SmtpSink sink(tlsSink());
  SmtpSettings s = settingsFor(sink);
  s.caFile = pki() + "/test/foreign-ca.crt";
  s.username = "dxhub";
  s.password = "s3cret-for-tests";
  EXPECT_THROW(SmtpClient(s).send(notice()), TransportError);
  EXPECT_TRUE(sink.mails().empty());
}

TEST(SmtpClient, WrongPasswordIsSmtpRejected) {
  SmtpSink sink(tlsSink());
  SmtpSettings s = settingsFor(sink);
  s.caFile = pki() + "/ca.crt";
  s.username = "dxhub";
  s.password = "wrong";
  EXPECT_THROW(SmtpClient(s).send(notice()), SmtpRejected);
  EXPECT_TRUE(sink.mails().empty());
}

TEST(SmtpClient, RequiredStartTlsNotOfferedSendsNothing) {
  SmtpSink sink;  // no certificate: no STARTTLS
  SmtpSettings s = settingsFor(sink);
  s.starttls = "required";
  EXPECT_THROW(SmtpClient(s).send(notice()), TransportError);
  EXPECT_TRUE(sink.mails().empty());
}

TEST(SmtpClient, RefusesUnknownStartTlsSetting) {
  SmtpSettings s;
  s.starttls = "sometimes";
  EXPECT_THROW(SmtpClient{s}, std::invalid_argument);
}

}  // namespace
}  // namespace dx
