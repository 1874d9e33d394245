#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include <Poco/TemporaryFile.h>

#include "base64url.h"
#include "clock.h"
#include "crypto.h"
#include "jws.h"
#include "registry.h"
#include "test_support.h"

namespace dx {
namespace {

PkeyPtr ed25519Public(const std::string& x64) {
  std::string x = *base64urlDecode(x64);
  return PkeyPtr(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(x.data()), x.size()),
      PkeyFree{});
}

PkeyPtr p256Public(const std::string& x64, const std::string& y64) {
  std::string point(1, '\x04');  // uncompressed point: 04 ‖ x ‖ y
  point += *base64urlDecode(x64);
  point += *base64urlDecode(y64);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return PkeyPtr(key, PkeyFree{});
}

// RFC 8037 Appendix A.4: the Ed25519 example signature.
TEST(JwsVectors, Rfc8037Ed25519ExampleVerifies) {
  PkeyPtr key = ed25519Public("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  ASSERT_TRUE(key);
  std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  std::string sig = *base64urlDecode(
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  EXPECT_TRUE(verifyBytes(JwsAlg::Ed25519, key.get(), input, sig));
  EXPECT_FALSE(verifyBytes(JwsAlg::Ed25519, key.get(), input + "x", sig));
  EXPECT_FALSE(verifyBytes(JwsAlg::ES256, key.get(), input, sig));  // alg must fit the key
}

// RFC 7515 Appendix A.3: the ES256 example (raw R‖S signature).
TEST(JwsVectors, Rfc7515Es256ExampleVerifies) {
  PkeyPtr key = p256Public("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                           "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  ASSERT_TRUE(key);
  std::string input =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ";
  std::string sig = *base64urlDecode(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  EXPECT_TRUE(verifyBytes(JwsAlg::ES256, key.get(), input, sig));
  EXPECT_FALSE(verifyBytes(JwsAlg::Ed25519, key.get(), input, sig));
}

// Signs with the dev PKI and checks through a registry built from a test config.
class JwsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_ = new HubConfig(loadConfig(test::writeConfig()));
    trust_ = new TrustStore(config_->caPath, config_->crlPath);
    registry_ = new Registry(*config_, *trust_);
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete trust_;
    delete config_;
  }

  static Signer signer(const std::string& name) {
    return Signer::fromFiles(test::pkiDir() + "/" + name + ".key",
                             test::pkiDir() + "/" + name + ".crt");
  }
  static std::string request(const std::string& from = "cc.samastipur") {
    return test::envelope("freeze.request", from, "bank.sbi", test::example("freeze.request"), {},
                          "31509260012345");
  }
  static Expected<VerifiedMessage> verify(const std::string& jws) {
    return verifyJws(jws, *registry_, SystemClock::instance().unixSeconds());
  }
  static std::string code(const std::string& jws) {
    Expected<VerifiedMessage> m = verify(jws);
    return m ? "ok" : m.problem().code;
  }
  // A JWS with the given header JSON, signed by `who` over `payload`.
  static std::string withHeader(const std::string& header, const std::string& payload,
                                const std::string& who = "cc.samastipur") {
    PkeyPtr key = loadPrivateKey(test::pkiDir() + "/" + who + ".key");
    std::string input = base64urlEncode(header) + "." + base64urlEncode(payload);
    std::string sig = signBytes(key.get(), input);
    auto dot = input.find('.');
    return R"({"protected":")" + input.substr(0, dot) + R"(","payload":")" + input.substr(dot + 1) +
           R"(","signature":")" + base64urlEncode(sig) + "\"}";
  }
  static std::string thumbprint(const std::string& certPath) {
    return Certificate::fromPemFile(test::pkiDir() + "/" + certPath).thumbprint();
  }
  static std::string header(const std::string& alg, const std::string& extra = {},
                            const std::string& who = "cc.samastipur") {
    return R"({"alg":")" + alg + R"(","kid":")" + who + R"(","x5t#S256":")" +
           thumbprint(who + ".crt") + "\"" + extra + "}";
  }
  // Replaces one of the three JWS members' value.
  static std::string replaceMember(std::string jws, const std::string& member,
                                   const std::string& value) {
    auto p = jws.find("\"" + member + "\":\"") + member.size() + 4;
    auto e = jws.find('"', p);
    return jws.replace(p, e - p, value);
  }
  static std::string member(const std::string& jws, const std::string& name) {
    auto p = jws.find("\"" + name + "\":\"") + name.size() + 4;
    return jws.substr(p, jws.find('"', p) - p);
  }

  static HubConfig* config_;
  static TrustStore* trust_;
  static Registry* registry_;
};
HubConfig* JwsTest::config_;
TrustStore* JwsTest::trust_;
Registry* JwsTest::registry_;

// The signer keeps a prepared context per P-256 key and thread (at most 8): with more keys than
// that in turn, keys freed and others made (which may reuse a freed key's address), every
// signature is still made with the key it was asked for.
TEST(Signing, ManyKeysInTurnEachSignWithTheirOwnKey) {
  auto keys = [] {
    std::vector<PkeyPtr> out;
    for (int i = 0; i < 10; ++i)
      out.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), PkeyFree{});
    for (int i = 0; i < 2; ++i)
      out.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), PkeyFree{});
    return out;
  };
  const std::string input = "the signing input";
  for (int generation = 0; generation < 3; ++generation) {
    std::vector<PkeyPtr> made = keys();
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < made.size(); ++i) {
        ASSERT_TRUE(made[i]);
        JwsAlg alg = i < 10 ? JwsAlg::ES256 : JwsAlg::Ed25519;
        std::string signature = signBytes(made[i].get(), input);
        EXPECT_TRUE(verifyBytes(alg, made[i].get(), input, signature)) << "key " << i;
        std::size_t other = i < 10 ? (i + 1) % 10 : 10 + (i - 9) % 2;
        EXPECT_FALSE(verifyBytes(alg, made[other].get(), input, signature)) << "key " << i;
      }
    }
  }  // each generation's keys are freed here; the next may be made at the same addresses
}

TEST_F(JwsTest, Ed25519MessageVerifiesAndKeepsItsBytes) {
  std::string jws = signer("cc.samastipur").sign(request());
  Expected<VerifiedMessage> m = verify(jws);
  ASSERT_TRUE(m) << m.problem().detail;
  EXPECT_EQ(m->jws, jws);
  EXPECT_EQ(m->from(), "cc.samastipur");
  EXPECT_EQ(m->sender().role, "cyber_cell");
  std::string input = member(jws, "protected") + "." + member(jws, "payload");
  EXPECT_EQ(m->digest, hexLower(sha256(input)));
}

TEST_F(JwsTest, Es256MessageVerifiesWithRawSignature) {
  std::string payload = test::envelope("freeze.response", "bank.hdfc", "cc.samastipur",
                                       test::example("freeze.response"), newUuid(), "c1");
  std::string jws = signer("bank.hdfc").sign(payload);
  EXPECT_EQ(base64urlDecode(member(jws, "signature"))->size(), 64u);
  EXPECT_EQ(code(jws), "ok");
}

TEST_F(JwsTest, EdDSAAndEd25519AlgNamesBothAccepted) {
  EXPECT_EQ(code(withHeader(header("EdDSA"), request())), "ok");
  EXPECT_EQ(code(withHeader(header("Ed25519"), request())), "ok");
}

TEST_F(JwsTest, AlgNoneIsRefused) {
  std::string jws = withHeader(header("none"), request());
  EXPECT_EQ(code(replaceMember(jws, "signature", "")), "bad_signature");
  EXPECT_EQ(code(withHeader(header("None"), request())), "bad_signature");
}

TEST_F(JwsTest, Hs256IsRefusedEvenKeyedWithThePublicKey) {
  // The classic confusion attack: HMAC keyed with the signer's public certificate bytes.
  std::string h = header("HS256");
  std::string input = base64urlEncode(h) + "." + base64urlEncode(request());
  std::string pub = Certificate::fromPemFile(test::pkiDir() + "/cc.samastipur.crt").der();
  unsigned char mac[32];
  std::size_t macLen = sizeof mac;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, pub.data(), pub.size(),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, macLen,
            &macLen);
  std::string jws = withHeader(h, request());
  jws = replaceMember(jws, "signature",
                      base64urlEncode(std::string(reinterpret_cast<char*>(mac), macLen)));
  Expected<VerifiedMessage> m = verify(jws);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.problem().code, "bad_signature");
  EXPECT_NE(m.problem().detail.find("alg must be"), std::string::npos);
}

TEST_F(JwsTest, CritIsRefusedWhateverItLists) {
  EXPECT_EQ(code(withHeader(header("EdDSA", R"(,"crit":["exp"])"), request())), "bad_signature");
  EXPECT_EQ(code(withHeader(header("EdDSA", R"(,"crit":"exp")"), request())), "bad_signature");
  EXPECT_EQ(code(withHeader(header("EdDSA", R"(,"crit":[])"), request())), "bad_signature");
}

TEST_F(JwsTest, KeysByReferenceOrEmbeddedAreRefusedNeverFetched) {
  for (const char* extra :
       {R"(,"jku":"https://127.0.0.1:1/keys")", R"(,"x5u":"https://127.0.0.1:1/c")",
        R"(,"jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
        R"(,"x5c":["MIIB"])"}) {
    Expected<VerifiedMessage> m = verify(withHeader(header("EdDSA", extra), request()));
    ASSERT_FALSE(m) << extra;
    EXPECT_EQ(m.problem().code, "bad_signature") << extra;
  }
}

TEST_F(JwsTest, KidMustEqualFrom) {
  // Signed correctly by the cyber cell, but the envelope claims to come from the SP office.
  std::string jws = signer("cc.samastipur").sign(request("sp.samastipur"));
  Expected<VerifiedMessage> m = verify(jws);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.problem().code, "bad_signature");
  EXPECT_NE(m.problem().detail.find("from must equal the signer"), std::string::npos);
}

TEST_F(JwsTest, KidIsOnlyARegistryKey) {
  std::string x5t = thumbprint("cc.samastipur.crt");
  for (const char* kid : {"../../etc/passwd", "cc.samastipur' OR '1'='1",
                          "/var/pki/cc.samastipur.crt", "sp.samastipur"}) {
    std::string h =
        R"({"alg":"EdDSA","kid":")" + std::string(kid) + R"(","x5t#S256":")" + x5t + "\"}";
    EXPECT_EQ(code(withHeader(h, request())), "unknown_key") << kid;
  }
}

TEST_F(JwsTest, UnknownThumbprintIsUnknownKey) {
  std::string h = R"({"alg":"EdDSA","kid":"cc.samastipur","x5t#S256":")" +
                  base64urlEncode(sha256("not a certificate")) + "\"}";
  EXPECT_EQ(code(withHeader(h, request())), "unknown_key");
}

TEST_F(JwsTest, TamperedHeaderPayloadOrSignatureIsRefused) {
  std::string jws = signer("cc.samastipur").sign(request());
  std::string payload = *base64urlDecode(member(jws, "payload"));
  payload.replace(payload.find("45000.00"), 8, "95000.00");
  EXPECT_EQ(code(replaceMember(jws, "payload", base64urlEncode(payload))), "bad_signature");

  std::string header = *base64urlDecode(member(jws, "protected"));
  header.insert(header.size() - 1, R"(,"typ":"JOSE+JSON")");
  EXPECT_EQ(code(replaceMember(jws, "protected", base64urlEncode(header))), "bad_signature");

  std::string sig = *base64urlDecode(member(jws, "signature"));
  sig[10] ^= 1;
  EXPECT_EQ(code(replaceMember(jws, "signature", base64urlEncode(sig))), "bad_signature");
}

TEST_F(JwsTest, DerEncodedEs256SignatureIsRefused) {
  std::string payload = test::envelope("freeze.response", "bank.hdfc", "cc.samastipur",
                                       test::example("freeze.response"), newUuid(), "c1");
  std::string h = header("ES256", {}, "bank.hdfc");
  std::string input = base64urlEncode(h) + "." + base64urlEncode(payload);
  PkeyPtr key = loadPrivateKey(test::pkiDir() + "/bank.hdfc.key");
  // OpenSSL's own DER signature over the right input: valid ECDSA, wrong JOSE encoding.
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::size_t len = 0;
  EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key.get());
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string der(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(md);
  der.resize(len);
  std::string jws = withHeader(h, payload, "bank.hdfc");
  EXPECT_EQ(code(jws), "ok");
  EXPECT_EQ(code(replaceMember(jws, "signature", base64urlEncode(der))), "bad_signature");
}

TEST_F(JwsTest, Ed25519SignatureWithSPlusLIsRefused) {
  // S' = S + L verifies under a lax implementation (malleability); RFC 8032 requires S < L.
  std::string jws = signer("cc.samastipur").sign(request());
  std::string sig = *base64urlDecode(member(jws, "signature"));
  static const unsigned char kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                       0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                       0,    0,    0,    0,    0,    0,    0,    0,
                                       0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {  // little-endian add of L to S (the second half)
    unsigned v = static_cast<unsigned char>(sig[32 + i]) + kL[i] + carry;
    sig[32 + i] = static_cast<char>(v & 0xFF);
    carry = v >> 8;
  }
  EXPECT_EQ(code(replaceMember(jws, "signature", base64urlEncode(sig))), "bad_signature");
}

TEST_F(JwsTest, ExpiredRevokedAndForeignCertificatesAreRefused) {
  for (const char* which : {"test/expired", "test/revoked", "test/foreign"}) {
    std::string h = R"({"alg":"EdDSA","kid":"cc.samastipur","x5t#S256":")" +
                    thumbprint(std::string(which) + ".crt") + "\"}";
    std::string jws = withHeader(h, request(), which);
    Expected<VerifiedMessage> m = verify(jws);
    ASSERT_FALSE(m) << which;
    EXPECT_EQ(m.problem().code, "cert_invalid") << which;
  }
  // The revoked one is refused for revocation, not for anything else.
  std::string h = R"({"alg":"EdDSA","kid":"cc.samastipur","x5t#S256":")" +
                  thumbprint("test/revoked.crt") + "\"}";
  EXPECT_NE(verify(withHeader(h, request(), "test/revoked")).problem().detail.find("revoked"),
            std::string::npos);
}

TEST_F(JwsTest, MalformedJwsShapesAreMalformed) {
  std::string jws = signer("cc.samastipur").sign(request());
  EXPECT_EQ(code("not json"), "malformed");
  EXPECT_EQ(code("[]"), "malformed");
  EXPECT_EQ(code(R"({"protected":"eyJ","payload":"e30"})"), "malformed");
  std::string extra = jws;
  extra.insert(extra.size() - 1, R"(,"header":{"kid":"x"})");
  EXPECT_EQ(code(extra), "malformed");
  std::string dup = jws;
  dup.insert(dup.size() - 1, R"(,"payload":"e30")");
  EXPECT_EQ(code(dup), "malformed");
  EXPECT_EQ(code(replaceMember(jws, "payload", member(jws, "payload") + "=")), "malformed");
}

TEST_F(JwsTest, SignatureWeMakeVerifiesWithOpensslCommandLine) {
  std::string jws = signer("cc.samastipur").sign(request());
  std::string input = member(jws, "protected") + "." + member(jws, "payload");
  std::string sig = *base64urlDecode(member(jws, "signature"));
  std::string dir = Poco::TemporaryFile::tempName();
  Poco::TemporaryFile::registerForDeletion(dir);
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/input", std::ios::binary) << input;
  std::ofstream(dir + "/sig", std::ios::binary) << sig;
  std::string cmd = "openssl x509 -in " + test::pkiDir() + "/cc.samastipur.crt -pubkey -noout > " +
                    dir + "/pub.pem && openssl pkeyutl -verify -pubin -inkey " + dir +
                    "/pub.pem -rawin -in " + dir + "/input -sigfile " + dir + "/sig >/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ofstream(dir + "/input", std::ios::binary) << input << "x";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace dx
