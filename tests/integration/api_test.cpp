// The HTTP API contract of DESIGN §6, against the real `dxhub serve` over mutual TLS on
// loopback: every test starts its own hub (own port, own database) and stops it. Every test
// runs once on SQLite and once on PostgreSQL (test::storeBackends()).
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/String.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base64url.h"
#include "certificate.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "hub_process.h"
#include "jws.h"
#include "registry.h"
#include "test_support.h"

namespace dx::test {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The one SQL statement that knows the audit table's layout (see core/src/sql_store.cpp):
// changes one byte-level detail of entry 2 without touching its stored hash.
constexpr const char* kTamperAuditSql = "UPDATE audit SET outcome = outcome || 'x' WHERE seq = 2";
constexpr const char* kCountAuditSql = "SELECT count(*) FROM audit";
constexpr const char* kCaseNo = "31509260012345";

// ---------------------------------------------------------------- messages

// The signer for <pki>/<name>.key/.crt: a participant id, or "test/revoked" and the like.
const Signer& signerFor(const std::string& participantId) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Signer>> signers;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = signers[participantId];
  if (!slot)
    slot = std::make_unique<Signer>(Signer::fromFiles(testPki() + "/" + participantId + ".key",
                                                      testPki() + "/" + participantId + ".crt"));
  return *slot;
}

// An envelope to be signed; `created` in Unix seconds.
struct Envelope {
  std::string id = newUuid();
  std::string type, from, to, ref, caseId;
  std::int64_t created = SystemClock::instance().unixSeconds();
  std::string body;  // JSON text

  std::string json() const {
    std::string out = R"({"id":")" + id + R"(","type":")" + type + R"(","from":")" + from +
                      R"(","to":")" + to + R"(","created":")" + formatRfc3339(created) + "\"";
    if (!ref.empty()) out += R"(,"ref":")" + ref + "\"";
    if (!caseId.empty()) out += R"(,"case":")" + caseId + "\"";
    return out + R"(,"body":)" + body + "}";
  }
};

struct Message {
  std::string id, jws;
};

// Signed by `e.from`'s key (or by `signerId`, a name as signerFor() takes it).
Message sign(const Envelope& e, const std::string& signerId = {}) {
  return {e.id, signerFor(signerId.empty() ? e.from : signerId).sign(e.json())};
}

std::string replaceOnce(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("example has no \"" + from + "\"");
  return text.replace(at, from.size(), to);
}

// The example freeze.request (../shared/examples) from the cyber cell to SBI.
Envelope freezeRequest() {
  Envelope e;
  e.type = "freeze.request";
  e.from = "cc.samastipur";
  e.to = "bank.sbi";
  e.caseId = kCaseNo;
  e.body = example("freeze.request");
  return e;
}

// The example freeze.response from `bank` answering `request`.
Envelope freezeResponse(const std::string& bank, const Envelope& request) {
  Envelope e;
  e.type = "freeze.response";
  e.from = bank;
  e.to = request.from;
  e.ref = request.id;
  e.caseId = request.caseId;
  e.body = example("freeze.response");
  return e;
}

rapidjson::Document parseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
}

std::string member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// hex SHA-256 of `protected + "." + payload` of a flattened JWS: the receipt's digest.
std::string signingInputDigest(const std::string& jws) {
  rapidjson::Document doc = parseJson(jws);
  return hexLower(sha256(member(doc, "protected") + "." + member(doc, "payload")));
}

// A problem+json answer (RFC 9457) with this status and code, and every member DESIGN §6 names.
::testing::AssertionResult isProblem(const Response& r, int status, const std::string& code) {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure()
           << "expected " << status << " problem \"" << code << "\", " << why << "; got " << r;
  };
  if (r.status != status) return fail("wrong status");
  if (r.contentType().rfind("application/problem+json", 0) != 0)
    return fail("content type is not application/problem+json");
  rapidjson::Document doc = parseJson(r.body);
  if (doc.HasParseError() || !doc.IsObject()) return fail("body is not a JSON object");
  for (const char* name : {"type", "title", "detail", "code"})
    if (!doc.HasMember(name) || !doc[name].IsString())
      return fail(std::string("member \"") + name + "\" missing or not a string");
  if (!doc.HasMember("status") || !doc["status"].IsInt() || doc["status"].GetInt() != status)
    return fail("member \"status\" missing or not " + std::to_string(status));
  if (member(doc, "code") != code) return fail("wrong code");
  return ::testing::AssertionSuccess();
}

// Neither 2xx nor any HTTP answer other than 401: the TLS handshake failed, or 401.
::testing::AssertionResult isRefused(const Response& r) {
  if (r.status >= 200 && r.status < 300)
    return ::testing::AssertionFailure() << "accepted (" << r << ")";
  if (r.status != 0 && r.status != 401)
    return ::testing::AssertionFailure() << "neither a failed handshake nor 401: " << r;
  return ::testing::AssertionSuccess() << r;
}

// ---------------------------------------------------------------- fixture

class HubApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  virtual HubOptions hubOptions() const { return {}; }

  void SetUp() override {
    if (GetParam() == "postgresql" && !pgServerUrl()) GTEST_SKIP() << pgSkipReason();
    db_ = std::make_unique<TestDatabase>(GetParam());
    HubOptions options = hubOptions();
    options.storeUrl = db_->url();
    hub_ = std::make_unique<HubProcess>(options);
    startHub();
  }

  // Starts the hub (again); a fatal test failure, with the hub's log, if it does not come up.
  void startHub() {
    try {
      hub_->start();
    } catch (const std::exception& e) {
      startFailed_ = true;
      FAIL() << e.what();
    }
  }

  void TearDown() override {
    clients_.clear();
    if (HasFailure() && hub_ && !startFailed_)
      std::cerr << "---- dxhub log (" << hub_->logPath() << ") ----\n"
                << hub_->log() << "---- end of dxhub log ----\n";
    hub_.reset();
  }

  // A client with `participantId`'s certificate, kept for the test.
  Client& as(const std::string& participantId) {
    auto it = clients_.find(participantId);
    if (it == clients_.end())
      it = clients_.emplace(participantId, Client::as(hub_->port(), participantId)).first;
    return it->second;
  }
  void dropClients() { clients_.clear(); }

  // Posts `m` over the certificate of `clientId`.
  Response post(const std::string& clientId, const Message& m) {
    return as(clientId).post("/v1/messages", m.jws);
  }

  // A registry from the hub's own config: what a participant checks receipts with.
  const Registry& registry() {
    if (!registry_) {
      config_ = std::make_unique<HubConfig>(loadConfig(hub_->configPath()));
      trust_ = std::make_unique<TrustStore>(config_->caPath, config_->crlPath);
      registry_ = std::make_unique<Registry>(*config_, *trust_);
    }
    return *registry_;
  }

  // Checks that `r` is a 202 whose body is a valid receipt for `m` sent by `sender`.
  void expectReceipt(const Response& r, const Message& m, const std::string& sender) {
    ASSERT_EQ(r.status, 202) << r;
    EXPECT_EQ(r.contentType().rfind("application/jose+json", 0), 0u) << r;
    Expected<VerifiedMessage> receipt = verifyJws(r.body, registry(), std::time(nullptr));
    ASSERT_TRUE(receipt.ok()) << "receipt does not verify: " << receipt.problem().code << ": "
                              << receipt.problem().detail << "\n"
                              << r;
    EXPECT_EQ(receipt->type(), "hub.receipt");
    EXPECT_EQ(receipt->from(), "hub.samastipur");
    EXPECT_EQ(receipt->to(), sender);
    EXPECT_EQ(receipt->ref(), m.id);
    const rapidjson::Value& env = receipt->envelope;
    ASSERT_TRUE(env.HasMember("body") && env["body"].IsObject()) << receipt->payload;
    const rapidjson::Value& body = env["body"];
    EXPECT_EQ(member(body, "digest"), signingInputDigest(m.jws)) << receipt->payload;
    EXPECT_FALSE(member(body, "accepted_at").empty()) << receipt->payload;
    ASSERT_TRUE(body.HasMember("audit_seq") && body["audit_seq"].IsInt64()) << receipt->payload;
    EXPECT_GE(body["audit_seq"].GetInt64(), 1) << receipt->payload;
    EXPECT_TRUE(std::regex_match(member(body, "audit_hash"), std::regex("[0-9a-f]{64}")))
        << receipt->payload;
  }

  // Posts `e` signed by and sent over its sender's certificate; expects a 202.
  Message postAccepted(const Envelope& e) {
    Message m = sign(e);
    Response r = post(e.from, m);
    EXPECT_EQ(r.status, 202) << "posting " << e.type << " from " << e.from << ": " << r;
    return m;
  }

  // State of message `id` as seen by `participantId`, or "" with a test failure.
  std::string stateAs(const std::string& participantId, const std::string& id) {
    Response r = as(participantId).get("/v1/messages/" + id);
    EXPECT_EQ(r.status, 200) << "GET /v1/messages/" << id << " as " << participantId << ": " << r;
    return member(parseJson(r.body), "state");
  }

  CommandResult auditVerify() {
    return hub_->runCommand({"audit", "verify", "--config", hub_->configPath()});
  }

  std::int64_t auditRowCount() { return db_->queryInt(kCountAuditSql); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<HubProcess> hub_;
  bool startFailed_ = false;
  std::map<std::string, Client> clients_;
  std::unique_ptr<HubConfig> config_;
  std::unique_ptr<TrustStore> trust_;
  std::unique_ptr<Registry> registry_;
};

// ---------------------------------------------------------------- open endpoints

TEST_P(HubApiTest, HealthzAndMetricsAnswerWithoutClientCertificate) {
  Client anonymous = Client::anonymous(hub_->port());
  Response health = anonymous.get("/healthz");
  EXPECT_EQ(health.status, 200) << health;
  Response metrics = anonymous.get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics;
  EXPECT_NE(metrics.body.find("# TYPE"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.contentType().rfind("text/plain", 0), 0u) << metrics;
}

// A load balancer's health check: 503 store_unavailable while the database is gone, 200 again
// when it is back (without restarting the hub).
TEST_P(HubApiTest, HealthzIs503WhileTheStoreIsGoneAndOkWhenItIsBack) {
  // An open SQLite file cannot be taken away from the process that has it open.
  if (GetParam() != "postgresql") GTEST_SKIP() << "needs a database server to stop";
  Client anonymous = Client::anonymous(hub_->port());
  ASSERT_EQ(anonymous.get("/healthz").status, 200);
  db_->allowConnections(false);
  Response health;
  for (int i = 0; i < 60 && health.status != 503; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    health = anonymous.get("/healthz");
  }
  EXPECT_TRUE(isProblem(health, 503, "store_unavailable")) << health;
  db_->allowConnections(true);
  for (int i = 0; i < 60 && health.status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    health = anonymous.get("/healthz");
  }
  EXPECT_EQ(health.status, 200) << health;
  EXPECT_EQ(health.body, "ok\n");
}

TEST_P(HubApiTest, InboxWithoutClientCertificateIsUnauthenticated) {
  Client anonymous = Client::anonymous(hub_->port());
  EXPECT_TRUE(isProblem(anonymous.get("/v1/inbox?after=0&limit=10"), 401, "unauthenticated"));
}

// ---------------------------------------------------------------- acceptance and receipts

TEST_P(HubApiTest, FreezeRequestIsAcceptedWithHubSignedReceipt) {
  Message m = sign(freezeRequest());
  expectReceipt(post("cc.samastipur", m), m, "cc.samastipur");
}

// A bank's or a station's client keeps one connection for many requests: the hub keeps it
// open after a receipt, a refusal and a GET alike (HTTP/1.1 keep-alive), so that only the first
// request pays for a TLS handshake.
TEST_P(HubApiTest, OneConnectionCarriesRequestAfterRequest) {
  auto keptAlive = [](const Response& r) {
    return Poco::icompare(r.header("connection"), "keep-alive") == 0;
  };
  for (int i = 0; i < 3; ++i) {
    Response receipt = post("cc.samastipur", sign(freezeRequest()));
    ASSERT_EQ(receipt.status, 202) << receipt;
    EXPECT_TRUE(keptAlive(receipt)) << receipt.header("connection");
  }
  Response refused = post("cc.samastipur", sign(freezeResponse("bank.sbi", freezeRequest())));
  ASSERT_EQ(refused.status, 403) << refused;
  EXPECT_TRUE(keptAlive(refused)) << refused.header("connection");
  Response health = as("cc.samastipur").get("/healthz");
  ASSERT_EQ(health.status, 200) << health;
  EXPECT_TRUE(keptAlive(health)) << health.header("connection");
}

TEST_P(HubApiTest, RepostingSameMessageReturnsByteIdenticalReceipt) {
  Message m = sign(freezeRequest());
  Response first = post("cc.samastipur", m);
  ASSERT_EQ(first.status, 202) << first;
  Response again = post("cc.samastipur", m);
  EXPECT_EQ(again.status, 200) << again;
  EXPECT_EQ(again.body, first.body);
  dropClients();  // a retry on a new connection, as after a lost answer
  Response third = post("cc.samastipur", m);
  EXPECT_EQ(third.status, 200) << third;
  EXPECT_EQ(third.body, first.body);
}

TEST_P(HubApiTest, SameIdWithOtherContentIsIdConflict) {
  Envelope e = freezeRequest();
  postAccepted(e);
  e.body = replaceOnce(e.body, R"("amount": "45000.00")", R"("amount": "44000.00")");
  EXPECT_TRUE(isProblem(post("cc.samastipur", sign(e)), 409, "id_conflict"));
}

// ---------------------------------------------------------------- policy and authentication

TEST_P(HubApiTest, FreezeResponseFromBankNotAskedIsForbidden) {
  Envelope request = freezeRequest();
  postAccepted(request);
  EXPECT_TRUE(
      isProblem(post("bank.pnb", sign(freezeResponse("bank.pnb", request))), 403, "forbidden"));
}

TEST_P(HubApiTest, FreezeResponseFromBankAskedIsAccepted) {
  Envelope request = freezeRequest();
  postAccepted(request);
  Message response = sign(freezeResponse("bank.sbi", request));
  expectReceipt(post("bank.sbi", response), response, "bank.sbi");
}

TEST_P(HubApiTest, StationCannotSendFreezeRequest) {
  Envelope e = freezeRequest();
  e.from = "ps.samastipur.nagar";
  EXPECT_TRUE(isProblem(post("ps.samastipur.nagar", sign(e)), 403, "forbidden"));
}

TEST_P(HubApiTest, MessageSentOverAnotherParticipantsCertificateIsForbidden) {
  EXPECT_TRUE(isProblem(post("bank.sbi", sign(freezeRequest())), 403, "forbidden"));
}

TEST_P(HubApiTest, Es256SignedAnswerOverP256ClientCertificateIsAccepted) {
  Envelope request = freezeRequest();
  request.to = "bank.hdfc";
  request.body = replaceOnce(request.body, R"("ifsc": "SBIN0001234")", R"("ifsc": "HDFC0000123")");
  postAccepted(request);
  Message response = sign(freezeResponse("bank.hdfc", request));
  ASSERT_EQ(signerFor("bank.hdfc").alg(), JwsAlg::ES256);
  expectReceipt(post("bank.hdfc", response), response, "bank.hdfc");
}

TEST_P(HubApiTest, MessageSignedWithRevokedCertificateIsCertInvalid) {
  EXPECT_TRUE(
      isProblem(post("cc.samastipur", sign(freezeRequest(), "test/revoked")), 401, "cert_invalid"));
}

TEST_P(HubApiTest, MessageSignedWithExpiredCertificateIsCertInvalid) {
  EXPECT_TRUE(
      isProblem(post("cc.samastipur", sign(freezeRequest(), "test/expired")), 401, "cert_invalid"));
}

TEST_P(HubApiTest, UnregisteredCertificateThumbprintIsUnknownKey) {
  // Signed with cc.samastipur's own key, but naming a certificate the hub has never seen.
  std::string header = R"({"alg":"EdDSA","kid":"cc.samastipur","x5t#S256":")" +
                       base64urlEncode(sha256("no such certificate")) + "\"}";
  std::string input = base64urlEncode(header) + "." + base64urlEncode(freezeRequest().json());
  PkeyPtr key = loadPrivateKey(testPki() + "/cc.samastipur.key");
  std::string signature = base64urlEncode(signBytes(key.get(), input));
  auto dot = input.find('.');
  Message m{"", R"({"protected":")" + input.substr(0, dot) + R"(","payload":")" +
                    input.substr(dot + 1) + R"(","signature":")" + signature + "\"}"};
  EXPECT_TRUE(isProblem(post("cc.samastipur", m), 401, "unknown_key"));
}

class RefusedClientCertificateTest : public HubApiTest {
 protected:
  // A valid message from cc.samastipur, sent over a connection with the test certificate
  // `name` (revoked, expired, foreign): the certificate alone must stop it.
  void expectRefused(const std::string& name) {
    std::string base = testPki() + "/test/" + name;
    Client client(hub_->port(), base + ".crt", base + ".key");
    Message m = sign(freezeRequest());
    EXPECT_TRUE(isRefused(client.post("/v1/messages", m.jws))) << name << " certificate, POST";
    client.close();
    EXPECT_TRUE(isRefused(client.get("/v1/inbox?after=0&limit=10"))) << name << ", inbox";
    // Nothing of it was stored.
    Response seen = as("cc.samastipur").get("/v1/messages/" + m.id);
    EXPECT_EQ(seen.status, 404) << seen;
  }
};

TEST_P(RefusedClientCertificateTest, RevokedClientCertificateIsRefused) {
  expectRefused("revoked");
}
TEST_P(RefusedClientCertificateTest, ExpiredClientCertificateIsRefused) {
  expectRefused("expired");
}
TEST_P(RefusedClientCertificateTest, ForeignCaClientCertificateIsRefused) {
  expectRefused("foreign");
}

// ---------------------------------------------------------------- freshness and content

TEST_P(HubApiTest, MessageCreatedAnHourAgoIsStale) {
  Envelope e = freezeRequest();
  e.created -= 3600;
  EXPECT_TRUE(isProblem(post("cc.samastipur", sign(e)), 400, "stale"));
}

TEST_P(HubApiTest, MessageCreatedAnHourAheadIsStale) {
  Envelope e = freezeRequest();
  e.created += 3600;
  EXPECT_TRUE(isProblem(post("cc.samastipur", sign(e)), 400, "stale"));
}

TEST_P(HubApiTest, MessageCreatedCenturiesAheadIsStaleAndTheOffsetIsGivenInDays) {
  Envelope e = freezeRequest();
  e.created += 7000LL * 365 * 86400;  // in seconds, a 12-digit number: read as an Aadhaar number
  Response r = post("cc.samastipur", sign(e));
  EXPECT_TRUE(isProblem(r, 400, "stale"));
  EXPECT_NE(r.body.find(" days from the hub's clock"), std::string::npos) << r;
  EXPECT_FALSE(std::regex_search(r.body, std::regex("[0-9]{12}"))) << r;
}

TEST_P(HubApiTest, PlainAadhaarNumberInRemarksIsRefused) {
  Envelope request = freezeRequest();
  postAccepted(request);
  Envelope e = freezeResponse("bank.sbi", request);
  e.body = replaceOnce(e.body, R"("remarks": "Lien marked on available balance.")",
                       R"("remarks": "Holder's Aadhaar 2345 6789 0124 seen at branch.")");
  Response r = post("bank.sbi", sign(e));
  EXPECT_TRUE(isProblem(r, 422, "pii_aadhaar"));
  // The refusal itself must not repeat the number (DESIGN §4: it is never shown).
  EXPECT_EQ(r.body.find("2345 6789 0124"), std::string::npos) << r;
  EXPECT_EQ(r.body.find("234567890124"), std::string::npos) << r;
}

TEST_P(HubApiTest, MoneyAsJsonNumberFailsSchema) {
  Envelope e = freezeRequest();
  e.body = replaceOnce(e.body, R"("amount": "45000.00")", R"("amount": 45000.00)");
  EXPECT_TRUE(isProblem(post("cc.samastipur", sign(e)), 422, "schema"));
}

TEST_P(HubApiTest, BodyThatIsNotJsonIsMalformed) {
  Message m{newUuid(), "this is not a JWS {"};
  EXPECT_TRUE(isProblem(post("cc.samastipur", m), 400, "malformed"));
}

TEST_P(HubApiTest, TamperedPayloadIsBadSignature) {
  Envelope e = freezeRequest();
  Message original = sign(e);
  e.body = replaceOnce(e.body, R"("amount": "45000.00")", R"("amount": "4500.00")");
  Message other = sign(e);
  // The original's header and signature around the other (well-formed) payload.
  rapidjson::Document a = parseJson(original.jws), b = parseJson(other.jws);
  Message tampered{e.id, R"({"protected":")" + member(a, "protected") + R"(","payload":")" +
                             member(b, "payload") + R"(","signature":")" + member(a, "signature") +
                             "\"}"};
  EXPECT_TRUE(isProblem(post("cc.samastipur", tampered), 401, "bad_signature"));
}

TEST_P(HubApiTest, OversizedBodyIsRefusedBeforeItIsUploaded) {
  constexpr std::size_t kTwoMiB = 2u << 20;
  Client& client = as("cc.samastipur");
  auto started = SteadyClock::now();
  // Headers declaring 2 MiB and 4 KiB of it; the rest never comes. A hub that waited for the
  // whole body would answer only after its read timeout, or never.
  Response r = client.postTruncated("/v1/messages", kTwoMiB, std::string(4096, ' '));
  auto took = SteadyClock::now() - started;
  EXPECT_TRUE(isProblem(r, 413, "too_large"));
  EXPECT_LT(took, 2s) << "the 413 took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
  // The hub is still fine afterwards.
  Message m = sign(freezeRequest());
  EXPECT_EQ(post("cc.samastipur", m).status, 202);
}

// A plain client (curl without Expect, most HTTP libraries) keeps sending its whole body; it
// must still be able to read the 413. A hub that closes the connection right after answering,
// with the rest of the body unread, makes the kernel reset the connection and the client sees
// only "connection reset" / "broken pipe" (the hub should half-close and drain for a moment,
// "lingering close", or read and discard up to a bound).
TEST_P(HubApiTest, OversizedBodyIs413EvenForClientThatKeepsSending) {
  constexpr std::size_t kTwoMiB = 2u << 20;
  auto started = SteadyClock::now();
  Response r =
      as("cc.samastipur").postWatchingForEarlyAnswer("/v1/messages", std::string(kTwoMiB, ' '));
  auto took = SteadyClock::now() - started;
  EXPECT_TRUE(isProblem(r, 413, "too_large"));
  EXPECT_LT(took, 3s);
}

// The simplest client of all writes the whole body and only then reads. It must still get the
// 413, not a reset connection: the hub has to drain (or half-close and linger) for a while
// rather than close with the body unread, or the kernel resets the connection and discards the
// answer. 16 MiB, because loopback socket buffers swallow a 2 MiB body and hide the problem.
TEST_P(HubApiTest, OversizedBodyIs413ForClientThatSendsAllBeforeReading) {
  Response r = as("cc.samastipur").post("/v1/messages", std::string(16u << 20, ' '));
  EXPECT_TRUE(isProblem(r, 413, "too_large"));
}

// curl and other RFC 9110 clients send `Expect: 100-continue` before a large body; the hub
// knows from Content-Length alone that it will refuse, so it must answer 413 at once instead of
// "100 Continue" (which invites the client to upload 2 MiB only to be cut off).
TEST_P(HubApiTest, OversizedBodyWithExpectContinueIs413InsteadOfContinue) {
  Response r = as("cc.samastipur").postExpectingContinue("/v1/messages", 2u << 20);
  EXPECT_TRUE(isProblem(r, 413, "too_large"));
}

// ---------------------------------------------------------------- reading state and the inbox

TEST_P(HubApiTest, MessageStateIsVisibleToSenderRecipientAndSpOnly) {
  Message m = postAccepted(freezeRequest());
  for (const char* who : {"cc.samastipur", "bank.sbi", "sp.samastipur"}) {
    Response r = as(who).get("/v1/messages/" + m.id);
    ASSERT_EQ(r.status, 200) << who << ": " << r;
    rapidjson::Document doc = parseJson(r.body);
    EXPECT_EQ(member(doc, "state"), "accepted") << who << ": " << r;
  }
  Response other = as("bank.pnb").get("/v1/messages/" + m.id);
  EXPECT_EQ(other.status, 404) << other;
  EXPECT_EQ(other.body.find(kCaseNo), std::string::npos) << other;
}

TEST_P(HubApiTest, InboxListsExactBytesAndAckMarksDelivered) {
  Message m = postAccepted(freezeRequest());
  Response inbox = as("bank.sbi").get("/v1/inbox?after=0&limit=10");
  ASSERT_EQ(inbox.status, 200) << inbox;
  rapidjson::Document doc = parseJson(inbox.body);
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("messages") && doc["messages"].IsArray()) << inbox;
  const rapidjson::Value* found = nullptr;
  for (const rapidjson::Value& item : doc["messages"].GetArray())
    if (member(item, "id") == m.id) found = &item;
  ASSERT_NE(found, nullptr) << "message " << m.id << " not in the inbox: " << inbox;
  EXPECT_TRUE(found->HasMember("seq") && (*found)["seq"].IsInt64()) << inbox;
  EXPECT_EQ(member(*found, "jws"), m.jws) << "inbox jws is not the exact posted bytes";

  // Not in anyone else's inbox.
  Response pnb = as("bank.pnb").get("/v1/inbox?after=0&limit=10");
  ASSERT_EQ(pnb.status, 200) << pnb;
  EXPECT_EQ(pnb.body.find(m.id), std::string::npos) << pnb;

  Response ack = as("bank.sbi").post("/v1/inbox/" + m.id + "/ack", "", "");
  EXPECT_EQ(ack.status, 200) << ack;
  EXPECT_EQ(stateAs("cc.samastipur", m.id), "delivered");
}

TEST_P(HubApiTest, AckByAnotherParticipantIsNotFound) {
  Message m = postAccepted(freezeRequest());
  Response ack = as("bank.pnb").post("/v1/inbox/" + m.id + "/ack", "", "");
  EXPECT_EQ(ack.status, 404) << ack;
  Response ackBySender = as("cc.samastipur").post("/v1/inbox/" + m.id + "/ack", "", "");
  EXPECT_EQ(ackBySender.status, 404) << ackBySender;
  EXPECT_EQ(stateAs("cc.samastipur", m.id), "accepted");
}

// ---------------------------------------------------------------- durability and the audit log

TEST_P(HubApiTest, MessageReceiptAndInboxSurviveRestart) {
  Message m = sign(freezeRequest());
  Response first = post("cc.samastipur", m);
  ASSERT_EQ(first.status, 202) << first;
  dropClients();
  EXPECT_EQ(hub_->stop(), 0) << "dxhub serve exit status after SIGTERM";
  ASSERT_NO_FATAL_FAILURE(startHub());

  Response again = post("cc.samastipur", m);
  EXPECT_EQ(again.status, 200) << again;
  EXPECT_EQ(again.body, first.body) << "the receipt changed across the restart";
  EXPECT_EQ(stateAs("bank.sbi", m.id), "accepted");
  Response inbox = as("bank.sbi").get("/v1/inbox?after=0&limit=10");
  ASSERT_EQ(inbox.status, 200) << inbox;
  EXPECT_NE(inbox.body.find(m.id), std::string::npos) << inbox;

  dropClients();
  EXPECT_EQ(hub_->stop(), 0);
  std::int64_t entries = auditRowCount();
  EXPECT_GE(entries, 1);
  CommandResult verify = auditVerify();
  EXPECT_EQ(verify.exitCode, 0) << verify.output;
  EXPECT_TRUE(std::regex_search(verify.output, std::regex("\\b" + std::to_string(entries) + "\\b")))
      << "audit verify does not print the entry count " << entries << ":\n"
      << verify.output;
}

TEST_P(HubApiTest, AuditVerifyNamesTheAlteredEntry) {
  for (int i = 0; i < 3; ++i) postAccepted(freezeRequest());
  dropClients();
  ASSERT_EQ(hub_->stop(), 0);
  ASSERT_GE(auditRowCount(), 2);
  CommandResult intact = auditVerify();
  ASSERT_EQ(intact.exitCode, 0) << "before any change:\n" << intact.output;

  db_->execute(kTamperAuditSql);
  CommandResult broken = auditVerify();
  EXPECT_NE(broken.exitCode, 0) << broken.output;
  EXPECT_TRUE(std::regex_search(
      broken.output, std::regex("(seq|entry|#)[^0-9\\n]{0,12}\\b2\\b", std::regex::icase)))
      << "audit verify does not name seq 2:\n"
      << broken.output;
}

TEST_P(HubApiTest, SigtermUnderLoadExitsCleanlyAndKeepsEveryReceiptedMessage) {
  std::atomic<bool> done{false};
  std::mutex mutex;
  std::vector<std::string> receipted;
  std::vector<std::string> unexpected;  // answers other than 202 while the hub was up
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Client client = Client::as(hub_->port(), "cc.samastipur");
      client.setTimeout(3000ms);
      while (!done) {
        Message m = sign(freezeRequest());
        Response r = client.post("/v1/messages", m.jws);
        std::lock_guard<std::mutex> lock(mutex);
        if (r.status == 202) {
          receipted.push_back(m.id);
        } else if (r.status == 0) {
          std::this_thread::sleep_for(5ms);  // the hub is going away: don't spin
        } else if (r.status != 503) {
          std::ostringstream out;
          out << r;
          unexpected.push_back(out.str());
        }
      }
    });
  }
  auto waitUntil = SteadyClock::now() + 3s;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (receipted.size() >= 40) break;
    }
    if (SteadyClock::now() > waitUntil) break;
    std::this_thread::sleep_for(10ms);
  }

  auto signalled = SteadyClock::now();
  hub_->signalTerminate();
  int code = hub_->waitForExit(5s);
  auto took = SteadyClock::now() - signalled;
  done = true;
  for (std::thread& t : threads) t.join();
  EXPECT_NE(code, HubProcess::kStillRunning) << "still running 5 s after SIGTERM";
  EXPECT_EQ(code, 0) << "exit status after SIGTERM";
  EXPECT_LT(took, 5s);
  if (code == HubProcess::kStillRunning) hub_->kill();
  auto tookMs = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  RecordProperty("receipted", static_cast<int>(receipted.size()));
  RecordProperty("exit_ms", static_cast<int>(tookMs));
  std::cout << "[ info     ] " << receipted.size() << " receipts before SIGTERM; exit took "
            << tookMs << " ms\n";
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, first: "
                                  << (unexpected.empty() ? "" : unexpected.front());
  ASSERT_FALSE(receipted.empty()) << "no message got a receipt before SIGTERM";

  ASSERT_NO_FATAL_FAILURE(startHub());
  std::size_t missing = 0;
  std::string firstMissing;
  for (const std::string& id : receipted) {
    Response r = as("cc.samastipur").get("/v1/messages/" + id);
    if (r.status != 200 && missing++ == 0) {
      std::ostringstream out;
      out << id << ": " << r;
      firstMissing = out.str();
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << receipted.size()
                         << " receipted messages, missing after restart; first: " << firstMissing;
}

INSTANTIATE_TEST_SUITE_P(Backends, HubApiTest, ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, RefusedClientCertificateTest,
                         ::testing::ValuesIn(storeBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dx::test
