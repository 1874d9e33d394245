#include "message_validator.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

namespace dx {
namespace {

namespace fs = std::filesystem;

const std::string kSchemaDir = std::string(DX_SOURCE_DIR) + "/config/schemas";
const std::string kExamplesDir = DX_EXAMPLES_DIR;

// Verhoeff-valid 12-digit numbers starting 2-9: exactly what a UPI/IMPS UTR often looks like,
// and indistinguishable from an Aadhaar number by shape alone.
constexpr const char* kUtr = "629812345672";
constexpr const char* kOutflowUtr = "629812399007";

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Route {
  const char* from;
  const char* to;
};
const std::map<std::string, Route> kRoutes = {
    {"station.record", {"ps.samastipur.mufassil", "cc.samastipur"}},
    {"freeze.request", {"cc.samastipur", "bank.sbi"}},
    {"freeze.response", {"bank.sbi", "cc.samastipur"}},
    {"freeze.release", {"cc.samastipur", "bank.sbi"}},
    {"notice.awareness", {"sp.samastipur", "dm.samastipur"}},
    {"notice.ack", {"dm.samastipur", "sp.samastipur"}},
    {"hub.receipt", {"hub.samastipur", "cc.samastipur"}},
    {"hub.escalation", {"hub.samastipur", "cc.samastipur"}},
};

// A well-formed envelope of `type` around `bodyJson`: a UUID id, sensible participants, `case`
// on freeze.*, `ref` where the type answers another message.
rapidjson::Document wrap(const std::string& type, const std::string& bodyJson) {
  const Route& route = kRoutes.at(type);
  std::string text = std::string(R"({"id":"3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70","type":")") +
                     type + R"(","from":")" + route.from + R"(","to":")" + route.to +
                     R"(","created":"2026-10-06T10:15:00+05:30",)";
  if (type.rfind("freeze.", 0) == 0) text += R"("case":"31509260012345",)";
  if (type == "freeze.response" || type == "freeze.release" || type == "notice.ack" ||
      type == "hub.receipt")
    text += R"("ref":"8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d",)";
  text += R"("body":)" + bodyJson + "}";
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError()) throw std::runtime_error("test envelope does not parse: " + text);
  return doc;
}

rapidjson::Document example(const std::string& type) {
  return wrap(type, readText(kExamplesDir + "/" + type + ".json"));
}

const char* kReceiptBody =
    R"({"digest":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",)"
    R"("accepted_at":"2026-10-06T10:15:01.250+05:30","audit_seq":42,)"
    R"("audit_hash":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"})";
const char* kEscalationBody =
    R"({"reason":"deadline_passed","message":"3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f70",)"
    R"("detail":"bank.sbi did not answer the freeze request by 2026-10-06T11:15:00+05:30"})";

void set(rapidjson::Document& doc, const char* pointer, const std::string& value) {
  rapidjson::Pointer(pointer).Set(doc, value);
}
void erase(rapidjson::Document& doc, const char* pointer) {
  ASSERT_TRUE(rapidjson::Pointer(pointer).Erase(doc)) << pointer;
}

class MessageValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { validator_ = new MessageValidator(kSchemaDir); }
  static void TearDownTestSuite() {
    delete validator_;
    validator_ = nullptr;
  }

  static void expectValid(const rapidjson::Document& doc) {
    const std::optional<Problem> problem = validator_->validate(doc);
    EXPECT_FALSE(problem) << problem->code << ": " << problem->detail;
  }

  // Refused with `code`, and the detail contains every one of `parts`.
  static Problem expectRefused(const rapidjson::Document& doc, const std::string& code,
                               std::initializer_list<std::string> parts) {
    const std::optional<Problem> problem = validator_->validate(doc);
    if (!problem) {
      ADD_FAILURE() << "accepted, expected " << code;
      return {};
    }
    EXPECT_EQ(problem->code, code) << problem->detail;
    for (const std::string& part : parts)
      EXPECT_NE(problem->detail.find(part), std::string::npos)
          << "detail \"" << problem->detail << "\" lacks \"" << part << "\"";
    return *problem;
  }

  static MessageValidator* validator_;
};
MessageValidator* MessageValidatorTest::validator_ = nullptr;

// --- every example body validates in a well-formed envelope ------------------------------------

TEST_F(MessageValidatorTest, ExampleStationRecordValidates) {
  expectValid(example("station.record"));
}
TEST_F(MessageValidatorTest, ExampleFreezeRequestValidates) {
  expectValid(example("freeze.request"));
}
TEST_F(MessageValidatorTest, ExampleFreezeResponseValidates) {
  expectValid(example("freeze.response"));
}
TEST_F(MessageValidatorTest, ExampleFreezeReleaseValidates) {
  expectValid(example("freeze.release"));
}
TEST_F(MessageValidatorTest, ExampleNoticeAwarenessValidates) {
  expectValid(example("notice.awareness"));
}
TEST_F(MessageValidatorTest, ExampleNoticeAckValidates) {
  expectValid(example("notice.ack"));
}
TEST_F(MessageValidatorTest, HubReceiptValidates) {
  expectValid(wrap("hub.receipt", kReceiptBody));
}
TEST_F(MessageValidatorTest, HubEscalationValidates) {
  expectValid(wrap("hub.escalation", kEscalationBody));
}

TEST_F(MessageValidatorTest, TypesAreTheEightOfTheContract) {
  const std::vector<std::string> expected = {
      "station.record",   "freeze.request", "freeze.response", "freeze.release",
      "notice.awareness", "notice.ack",     "hub.receipt",     "hub.escalation"};
  EXPECT_EQ(MessageValidator::types(), expected);
  for (const std::string& type : MessageValidator::types())
    EXPECT_TRUE(fs::exists(kSchemaDir + "/" + type + ".json")) << type;
}

// --- Aadhaar numbers in free text ------------------------------------------------------------

TEST_F(MessageValidatorTest, AadhaarWrittenTogetherInRemarksRefused) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", "Holder gave Aadhaar 527634091836 at the branch.");
  const Problem p = expectRefused(doc, "pii_aadhaar", {"body.remarks"});
  EXPECT_EQ(p.detail.find("527634091836"), std::string::npos) << p.detail;
  EXPECT_EQ(p.detail.find("1836"), std::string::npos) << p.detail;
}

TEST_F(MessageValidatorTest, AadhaarInGroupsWithSpacesInRemarksRefused) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", "Holder gave Aadhaar 5276 3409 1836 at the branch.");
  const Problem p = expectRefused(doc, "pii_aadhaar", {"body.remarks"});
  EXPECT_EQ(p.detail.find("5276"), std::string::npos) << p.detail;
}

TEST_F(MessageValidatorTest, AadhaarInGroupsWithHyphensInRemarksRefused) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", "Holder gave Aadhaar 5276-3409-1836 at the branch.");
  const Problem p = expectRefused(doc, "pii_aadhaar", {"body.remarks"});
  EXPECT_EQ(p.detail.find("3409"), std::string::npos) << p.detail;
}

TEST_F(MessageValidatorTest, MaskedAadhaarInRemarksPasses) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", "KYC on file: Aadhaar XXXX-XXXX-1836.");
  expectValid(doc);
}

TEST_F(MessageValidatorTest, ThirteenDigitRunInRemarksPasses) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", "Account 5276340918360 debited.");
  expectValid(doc);
}

TEST_F(MessageValidatorTest, VerhoeffValidUtrPassesInTransactionRef) {
  auto doc = example("freeze.request");
  set(doc, "/body/transactions/0/ref", kUtr);
  expectValid(doc);
}

TEST_F(MessageValidatorTest, VerhoeffValidUtrPassesInOutflowRef) {
  auto doc = example("freeze.response");
  set(doc, "/body/outflows/0/ref", kOutflowUtr);
  expectValid(doc);
}

TEST_F(MessageValidatorTest, VerhoeffValidUtrRefusedInRemarks) {
  auto doc = example("freeze.response");
  set(doc, "/body/remarks", std::string("Money moved by UTR ") + kUtr);
  expectRefused(doc, "pii_aadhaar", {"body.remarks"});
}

TEST_F(MessageValidatorTest, AadhaarShapedNumbersPassInFieldsWithTheirOwnFormat) {
  auto doc = example("freeze.request");
  set(doc, "/body/account/number", "527634091836");
  set(doc, "/body/officer/phone", "527634091836");
  expectValid(doc);
  auto record = example("station.record");
  set(record, "/body/case_no", "527634091836");
  set(record, "/body/ncrp_ack", "527634091836");
  expectValid(record);
}

TEST_F(MessageValidatorTest, DevanagariNoticeWithPlainAadhaarRefused) {
  auto doc = example("notice.awareness");
  set(doc, "/body/text/hi", "शिकायतकर्ता का आधार 5276 3409 1836 फोन पर माँगा गया।");
  expectRefused(doc, "pii_aadhaar", {"body.text.hi"});
  auto devanagariDigits = example("notice.awareness");
  set(devanagariDigits, "/body/subject/hi", "आधार ५२७६-३४०९-१८३६ के संबंध में");
  const Problem p = expectRefused(devanagariDigits, "pii_aadhaar", {"body.subject.hi"});
  EXPECT_EQ(p.detail.find("५२७६"), std::string::npos) << p.detail;
}

TEST_F(MessageValidatorTest, AadhaarRefusedInEveryKindOfFreeTextField) {
  const struct {
    const char* type;
    const char* pointer;
    const char* path;
  } fields[] = {
      {"station.record", "/body/sections/1", "body.sections[1]"},
      {"station.record", "/body/actions/0", "body.actions[0]"},
      {"freeze.request", "/body/account/holder", "body.account.holder"},
      {"freeze.request", "/body/legal_basis", "body.legal_basis"},
      {"freeze.request", "/body/officer/name", "body.officer.name"},
      {"freeze.request", "/body/officer/rank", "body.officer.rank"},
      {"freeze.response", "/body/outflows/2/place", "body.outflows[2].place"},
      {"freeze.release", "/body/order_ref", "body.order_ref"},
      {"freeze.release", "/body/reason", "body.reason"},
      {"notice.awareness", "/body/subject/en", "body.subject.en"},
      {"notice.awareness", "/body/text/en", "body.text.en"},
      {"notice.awareness", "/body/audience", "body.audience"},
      {"notice.awareness", "/body/areas/3", "body.areas[3]"},
      {"notice.ack", "/body/details", "body.details"},
      {"notice.ack", "/body/actions/1/what", "body.actions[1].what"},
      {"notice.ack", "/body/actions/1/where", "body.actions[1].where"},
  };
  for (const auto& f : fields) {
    SCOPED_TRACE(f.path);
    auto doc = example(f.type);
    set(doc, f.pointer, "see 5276 3409 1836");
    expectRefused(doc, "pii_aadhaar", {f.path});
  }
  auto escalation = wrap("hub.escalation", kEscalationBody);
  set(escalation, "/body/detail", "holder 527634091836");
  expectRefused(escalation, "pii_aadhaar", {"body.detail"});
}

// --- formats and fields --------------------------------------------------------------------------

TEST_F(MessageValidatorTest, MalformedIfscRefused) {
  auto doc = example("freeze.request");
  set(doc, "/body/account/ifsc", "SBIN1001234");
  expectRefused(doc, "schema", {"body.account.ifsc", "^[A-Z]{4}0[A-Z0-9]{6}$"});
}

TEST_F(MessageValidatorTest, IfscWithHiddenNulRefused) {
  // RapidJSON's own `pattern` sees strings as C strings and would stop at the U+0000; the
  // validator matches the whole string.
  auto doc = example("freeze.request");
  rapidjson::Pointer("/body/account/ifsc")
      .Set(doc, rapidjson::Value("SBIN0001234\0junk", 16, doc.GetAllocator()));
  expectRefused(doc, "schema", {"body.account.ifsc: must match pattern"});
}

TEST_F(MessageValidatorTest, MoneyAsANumberRefused) {
  auto doc = example("freeze.request");
  rapidjson::Pointer("/body/amount").Set(doc, 45000.0);
  expectRefused(doc, "schema", {"body.amount", "must be a string", "not a number"});
  rapidjson::Pointer("/body/transactions/1/amount").Set(doc, 20000);
  set(doc, "/body/amount", "45000.00");
  expectRefused(doc, "schema", {"body.transactions[1].amount", "must be a string"});
}

TEST_F(MessageValidatorTest, MoneyWithThreeDecimalsRefused) {
  auto doc = example("freeze.request");
  set(doc, "/body/amount", "45000.001");
  const Problem p = expectRefused(doc, "schema", {"body.amount"});
  EXPECT_EQ(p.detail, "body.amount: must match pattern ^[0-9]{1,13}(\\.[0-9]{1,2})?$");
}

TEST_F(MessageValidatorTest, UnknownBodyFieldRefusedByName) {
  auto doc = example("freeze.request");
  set(doc, "/body/amout", "45000.00");
  const Problem p = expectRefused(doc, "schema", {"body: unknown field \"amout\""});
  EXPECT_NE(p.detail.find("amount"), std::string::npos) << "lists the allowed fields";
  auto nested = example("freeze.request");
  set(nested, "/body/account/holdr", "Someone");
  expectRefused(nested, "schema", {"body.account: unknown field \"holdr\""});
  auto inArray = example("freeze.response");
  set(inArray, "/body/outflows/1/note", "x");
  expectRefused(inArray, "schema", {"body.outflows[1]: unknown field \"note\""});
}

TEST_F(MessageValidatorTest, UnknownFieldNamedLikeANumberIsMaskedInTheDetail) {
  auto doc = example("freeze.request");
  set(doc, "/body/527634091836", "x");
  const Problem p = expectRefused(doc, "schema", {"unknown field", "1836"});
  EXPECT_EQ(p.detail.find("527634091836"), std::string::npos) << p.detail;
}

TEST_F(MessageValidatorTest, UnknownEnvelopeFieldRefused) {
  auto doc = example("freeze.request");
  set(doc, "/priority", "high");
  expectRefused(doc, "schema", {"unknown field \"priority\""});
}

TEST_F(MessageValidatorTest, EachMissingRequiredFieldOfFreezeRequestRefused) {
  for (const char* field :
       {"layer", "account", "hold", "amount", "transactions", "legal_basis", "officer"}) {
    SCOPED_TRACE(field);
    auto doc = example("freeze.request");
    erase(doc, (std::string("/body/") + field).c_str());
    expectRefused(doc, "schema", {std::string("body: missing required field \"") + field + "\""});
  }
  for (const char* pointer :
       {"/body/account/number", "/body/account/ifsc", "/body/transactions/0/ref",
        "/body/transactions/0/amount", "/body/transactions/0/at", "/body/transactions/0/channel",
        "/body/officer/name", "/body/officer/rank", "/body/officer/phone"}) {
    SCOPED_TRACE(pointer);
    auto doc = example("freeze.request");
    erase(doc, pointer);
    const std::string p = pointer;
    expectRefused(doc, "schema", {"missing required field \"" + p.substr(p.rfind('/') + 1) + "\""});
  }
  // The optional ones may go.
  auto doc = example("freeze.request");
  erase(doc, "/body/respond_by");
  erase(doc, "/body/account/holder");
  expectValid(doc);
}

TEST_F(MessageValidatorTest, MissingRefOnFreezeResponseRefused) {
  auto doc = example("freeze.response");
  erase(doc, "/ref");
  expectRefused(doc, "schema", {"ref: required on freeze.response"});
  for (const char* type : {"freeze.release", "notice.ack"}) {
    auto other = example(type);
    erase(other, "/ref");
    expectRefused(other, "schema", {std::string("ref: required on ") + type});
  }
  auto receipt = wrap("hub.receipt", kReceiptBody);
  erase(receipt, "/ref");
  expectRefused(receipt, "schema", {"ref: required on hub.receipt"});
}

TEST_F(MessageValidatorTest, MissingCaseOnFreezeMessagesRefused) {
  for (const char* type : {"freeze.request", "freeze.response", "freeze.release"}) {
    SCOPED_TRACE(type);
    auto doc = example(type);
    erase(doc, "/case");
    expectRefused(doc, "schema", {std::string("case: required on ") + type});
    set(doc, "/case", "");
    expectRefused(doc, "schema", {"case"});
    set(doc, "/case", std::string(65, '7'));
    expectRefused(doc, "schema", {"case"});
  }
  // Elsewhere `case` is optional (the helper gives none to station.record).
  auto record = example("station.record");
  ASSERT_FALSE(record.HasMember("case"));
  expectValid(record);
}

TEST_F(MessageValidatorTest, BadUuidRefused) {
  auto doc = example("freeze.request");
  set(doc, "/id", "3f1c2a9e-5b7d-4c8e-9a1f-2b3c4d5e6f7");
  expectRefused(doc, "schema", {"id: must be a UUID"});
  auto ref = example("freeze.response");
  set(ref, "/ref", "not-a-uuid");
  expectRefused(ref, "schema", {"ref: must be a UUID"});
  auto escalation = wrap("hub.escalation", kEscalationBody);
  set(escalation, "/body/message", "3f1c2a9e5b7d4c8e9a1f2b3c4d5e6f70");
  expectRefused(escalation, "schema", {"body.message: must be a UUID"});
}

TEST_F(MessageValidatorTest, TimeWithoutOffsetRefused) {
  auto doc = example("freeze.request");
  set(doc, "/created", "2026-10-06T10:15:00");
  expectRefused(doc, "schema", {"created: must be an RFC 3339 time with offset"});
  auto tx = example("freeze.request");
  set(tx, "/body/transactions/1/at", "2026-10-06T10:04:37");
  expectRefused(tx, "schema", {"body.transactions[1].at: must be an RFC 3339 time"});
  auto receipt = wrap("hub.receipt", kReceiptBody);
  set(receipt, "/body/accepted_at", "2026-10-06 10:15:01+05:30");
  expectRefused(receipt, "schema", {"body.accepted_at"});
}

TEST_F(MessageValidatorTest, ImpossibleCalendarTimesRefused) {
  auto doc = example("freeze.request");
  set(doc, "/body/respond_by", "2026-02-30T11:15:00+05:30");
  expectRefused(doc, "schema", {"body.respond_by: must be an RFC 3339 time"});
  auto out = example("freeze.response");
  set(out, "/body/outflows/0/at", "2026-10-06T25:09:02+05:30");
  expectRefused(out, "schema", {"body.outflows[0].at"});
  auto created = example("station.record");
  set(created, "/created", "2026-04-31T10:15:00Z");
  expectRefused(created, "schema", {"created"});
}

TEST_F(MessageValidatorTest, February30Refused) {
  auto record = example("station.record");
  set(record, "/body/registered_on", "2026-02-30");
  expectRefused(record, "schema", {"body.registered_on: must be a real date"});
  auto notice = example("notice.awareness");
  set(notice, "/body/respond_by", "2026-02-30");
  expectRefused(notice, "schema", {"body.respond_by: must be a real date"});
  auto ack = example("notice.ack");
  set(ack, "/body/actions/1/when", "2026-02-30");
  expectRefused(ack, "schema", {"body.actions[1].when: must be a real date"});
  set(ack, "/body/actions/1/when", "12-10-2026");
  expectRefused(ack, "schema", {"body.actions[1].when: must be a real date"});
}

TEST_F(MessageValidatorTest, TransferOutflowWithoutAccountRefused) {
  auto doc = example("freeze.response");
  erase(doc, "/body/outflows/1/account");
  expectRefused(doc, "schema", {"body.outflows[1].account: required when kind is \"transfer\""});
  // Other kinds need no account.
  auto atm = example("freeze.response");
  set(atm, "/body/outflows/1/kind", "merchant");
  erase(atm, "/body/outflows/1/account");
  expectValid(atm);
}

TEST_F(MessageValidatorTest, UnknownTypeRefused) {
  auto doc = example("freeze.request");
  set(doc, "/type", "freeze.cancel");
  expectRefused(doc, "schema", {"type: must be one of:", "freeze.request"});
}

TEST_F(MessageValidatorTest, EnvelopeShapeRefused) {
  auto from = example("freeze.request");
  set(from, "/from", "CC.Samastipur");
  expectRefused(from, "schema", {"from: must match pattern"});
  auto body = example("freeze.request");
  rapidjson::Pointer("/body").Set(body, "text");
  expectRefused(body, "schema", {"body: must be an object, not a string"});
  rapidjson::Document array;
  array.Parse("[]");
  expectRefused(array, "schema", {"envelope: must be an object, not an array"});
  auto noBody = example("freeze.request");
  erase(noBody, "/body");
  expectRefused(noBody, "schema", {"envelope: missing required field \"body\""});
}

TEST_F(MessageValidatorTest, BodyLimitsRefused) {
  auto layer = example("freeze.request");
  rapidjson::Pointer("/body/layer").Set(layer, 0);
  expectRefused(layer, "schema", {"body.layer: must be at least 1"});
  rapidjson::Pointer("/body/layer").Set(layer, 1.5);
  expectRefused(layer, "schema", {"body.layer: must be an integer, not a number"});

  auto noTx = example("freeze.request");
  rapidjson::Pointer("/body/transactions").Set(noTx, rapidjson::Value(rapidjson::kArrayType));
  expectRefused(noTx, "schema", {"body.transactions: must have at least one item"});

  auto channel = example("freeze.request");
  set(channel, "/body/transactions/0/channel", "upi");
  expectRefused(channel, "schema", {"body.transactions[0].channel: must be one of: UPI, IMPS"});

  auto noLanguage = example("notice.awareness");
  rapidjson::Pointer("/body/subject").Set(noLanguage, rapidjson::Value(rapidjson::kObjectType));
  expectRefused(noLanguage, "schema", {"body.subject: must have at least one of: hi, en"});
  auto oneLanguage = example("notice.awareness");
  erase(oneLanguage, "/body/text/hi");
  erase(oneLanguage, "/body/subject/en");
  expectValid(oneLanguage);

  auto account = example("freeze.request");
  set(account, "/body/account/number", "12345");
  expectRefused(account, "schema", {"body.account.number: must match pattern ^[0-9]{6,20}$"});

  auto seq = wrap("hub.receipt", kReceiptBody);
  rapidjson::Pointer("/body/audit_seq").Set(seq, 0);
  expectRefused(seq, "schema", {"body.audit_seq: must be at least 1"});
  auto digest = wrap("hub.receipt", kReceiptBody);
  set(digest, "/body/digest", std::string(64, 'A'));
  expectRefused(digest, "schema", {"body.digest"});
}

// --- schema files -----------------------------------------------------------------------------

// A copy of config/schemas in a fresh folder, for breaking one file at a time.
class SchemaCopy {
 public:
  SchemaCopy() {
    dir_ = fs::temp_directory_path() /
           ("dx_schemas_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& entry : fs::directory_iterator(kSchemaDir))
      fs::copy_file(entry.path(), dir_ / entry.path().filename());
  }
  ~SchemaCopy() { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  void replace(const std::string& file, const std::string& from, const std::string& to) {
    const fs::path path = dir_ / file;
    std::string text = readText(path.string());
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }

 private:
  static inline std::atomic<int> counter_{0};
  fs::path dir_;
};

// The constructor's error names the file and contains `what`.
void expectLoadError(const std::string& dir, const std::string& file, const std::string& what) {
  try {
    MessageValidator validator(dir);
    ADD_FAILURE() << "loaded; expected an error about " << file;
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

TEST(MessageValidatorSchemas, MissingFolderNamesTheFile) {
  expectLoadError("/nonexistent/schemas", "/nonexistent/schemas/envelope.json", "cannot read");
}

TEST(MessageValidatorSchemas, BrokenSchemasAreRefusedAtStartUp) {
  {
    SchemaCopy copy;
    fs::remove(fs::path(copy.dir()) / "notice.ack.json");
    expectLoadError(copy.dir(), "notice.ack.json", "cannot read");
  }
  {
    SchemaCopy copy;
    copy.replace("freeze.release.json", "\"amount\":", "\"amount\" ");
    expectLoadError(copy.dir(), "freeze.release.json", "not valid JSON");
  }
  {
    SchemaCopy copy;  // \d would be silently skipped by RapidJSON: every string would pass
    copy.replace("freeze.request.json", "^[0-9]{6,20}$", "^\\\\d{6,20}$");
    expectLoadError(copy.dir(), "freeze.request.json", "regex engine");
  }
  {
    SchemaCopy copy;
    copy.replace("freeze.response.json", "\"additionalProperties\": false,", "");
    expectLoadError(copy.dir(), "freeze.response.json", "additionalProperties");
  }
  {
    SchemaCopy copy;  // a string that is neither formatted nor marked as free text
    copy.replace("freeze.release.json", "\"x-dx-free-text\": true", "\"maxLength\": 500");
    expectLoadError(copy.dir(), "freeze.release.json", "x-dx-free-text");
  }
  {
    SchemaCopy copy;
    copy.replace("notice.ack.json", "\"type\": \"object\",", "\"type\": \"object\", \"const\": 1,");
    expectLoadError(copy.dir(), "notice.ack.json", "\"const\"");
  }
  {
    SchemaCopy copy;
    copy.replace("envelope.json", "\"hub.escalation\"", "\"hub.alarm\"");
    expectLoadError(copy.dir(), "envelope.json", "hub.escalation");
  }
}

// --- threads ----------------------------------------------------------------------------------

TEST_F(MessageValidatorTest, ConcurrentValidationsGiveTheSameAnswers) {
  // RapidJSON 1.1's compiled patterns keep matching state inside themselves; the validator must
  // still answer every message right when threads share it.
  std::vector<std::pair<rapidjson::Document, std::string>> cases;
  for (const char* type : {"station.record", "freeze.request", "freeze.response", "freeze.release",
                           "notice.awareness", "notice.ack"})
    cases.emplace_back(example(type), "");
  auto badIfsc = example("freeze.request");
  set(badIfsc, "/body/account/ifsc", "SBIN1001234");
  cases.emplace_back(std::move(badIfsc), "schema");
  auto badMoney = example("freeze.response");
  set(badMoney, "/body/outflows/2/amount", "5000.000");
  cases.emplace_back(std::move(badMoney), "schema");
  auto aadhaar = example("notice.ack");
  set(aadhaar, "/body/details", "5276-3409-1836");
  cases.emplace_back(std::move(aadhaar), "pii_aadhaar");

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto& [doc, code] = cases[(i + t) % cases.size()];
        const std::optional<Problem> p = validator_->validate(doc);
        if ((p ? p->code : "") != code) ++wrong;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace dx
