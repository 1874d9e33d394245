#include "domain_checks.h"

#include <string>

#include <gtest/gtest.h>

namespace dx {
namespace {

// 527634091836 passes Verhoeff and starts with 5: shaped like an Aadhaar number (and used as an
// example on public pages, not anybody's). 527634091837 differs in the check digit.
constexpr const char* kAadhaar = "527634091836";

TEST(DomainChecks, VerhoeffKnownVectors) {
  // Published vectors: 236 -> check digit 3, 12345 -> 1, 142857 -> 0.
  EXPECT_TRUE(verhoeffValid("2363"));
  EXPECT_TRUE(verhoeffValid("123451"));
  EXPECT_TRUE(verhoeffValid("1428570"));
  EXPECT_FALSE(verhoeffValid("2364"));
  EXPECT_FALSE(verhoeffValid("123450"));
  // Aadhaar-shaped numbers from public examples and UIDAI's test data.
  EXPECT_TRUE(verhoeffValid("527634091836"));
  EXPECT_TRUE(verhoeffValid("999941057058"));
  EXPECT_TRUE(verhoeffValid("499118665246"));
  EXPECT_FALSE(verhoeffValid("527634091837"));
  EXPECT_FALSE(verhoeffValid(""));
  EXPECT_FALSE(verhoeffValid("52763409183a"));
  EXPECT_FALSE(verhoeffValid("5276 3409 1836"));
}

TEST(DomainChecks, VerhoeffCatchesEverySingleDigitErrorAndAdjacentSwap) {
  const std::string good = kAadhaar;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char d = '0'; d <= '9'; ++d) {
      if (d == good[i]) continue;
      std::string bad = good;
      bad[i] = d;
      EXPECT_FALSE(verhoeffValid(bad)) << bad;
    }
    if (i + 1 < good.size() && good[i] != good[i + 1]) {
      std::string swapped = good;
      std::swap(swapped[i], swapped[i + 1]);
      EXPECT_FALSE(verhoeffValid(swapped)) << swapped;
    }
  }
}

TEST(DomainChecks, UuidTextualFormInEitherCase) {
  EXPECT_TRUE(isUuid("0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012"));
  EXPECT_TRUE(isUuid("0B6F3C4E-8D2A-4F7E-9C1B-5A6D7E8F9012"));
  EXPECT_TRUE(isUuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(isUuid("0b6f3c4e8d2a4f7e9c1b5a6d7e8f9012"));
  EXPECT_FALSE(isUuid("{0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012}"));
  EXPECT_FALSE(isUuid("0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f901"));
  EXPECT_FALSE(isUuid("0b6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f90123"));
  EXPECT_FALSE(isUuid("0b6f3c4e-8d2a-4f7e-9c1b_5a6d7e8f9012"));
  EXPECT_FALSE(isUuid("0g6f3c4e-8d2a-4f7e-9c1b-5a6d7e8f9012"));
  EXPECT_FALSE(isUuid(""));
}

TEST(DomainChecks, Rfc3339TimeNeedsAnOffsetAndARealCalendar) {
  EXPECT_TRUE(isRfc3339Time("2026-10-06T10:15:00+05:30"));
  EXPECT_TRUE(isRfc3339Time("2026-10-06T04:45:00Z"));
  EXPECT_TRUE(isRfc3339Time("2026-10-06t04:45:00z"));  // RFC 3339 §5.6 allows lower case
  EXPECT_TRUE(isRfc3339Time("2026-10-06T10:15:00.123456+05:30"));
  EXPECT_TRUE(isRfc3339Time("2026-10-06T10:15:00.5-03:00"));
  EXPECT_TRUE(isRfc3339Time("2024-02-29T00:00:00Z"));  // leap year
  EXPECT_TRUE(isRfc3339Time("2000-02-29T00:00:00Z"));  // divisible by 400
  EXPECT_TRUE(isRfc3339Time("2016-12-31T23:59:60Z"));  // leap second, end of the UTC day
  EXPECT_TRUE(isRfc3339Time("2017-01-01T05:29:60+05:30"));

  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00"));  // no offset
  EXPECT_FALSE(isRfc3339Time("2026-10-06 10:15:00+05:30"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15+05:30"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00+0530"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00+05"));
  EXPECT_FALSE(isRfc3339Time("2026-02-29T10:15:00Z"));  // 2026 is no leap year
  EXPECT_FALSE(isRfc3339Time("1900-02-29T10:15:00Z"));  // nor is 1900
  EXPECT_FALSE(isRfc3339Time("2026-02-30T10:15:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-13-01T10:15:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-00-01T10:15:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-04-31T10:15:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T24:00:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:60:00Z"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:60Z"));  // a leap second only at 23:59:60 UTC
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00+24:00"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00+05:60"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00.Z"));
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00.1234567890Z"));  // more than 9 digits
  EXPECT_FALSE(isRfc3339Time("2026-10-06T10:15:00Z "));
  EXPECT_FALSE(isRfc3339Time("2026-10-06"));
  EXPECT_FALSE(isRfc3339Time(""));
}

TEST(DomainChecks, DateIsARealDay) {
  EXPECT_TRUE(isDate("2026-09-14"));
  EXPECT_TRUE(isDate("2024-02-29"));
  EXPECT_TRUE(isDate("2026-12-31"));
  EXPECT_FALSE(isDate("2026-02-30"));
  EXPECT_FALSE(isDate("2026-02-29"));
  EXPECT_FALSE(isDate("2026-06-31"));
  EXPECT_FALSE(isDate("2026-9-14"));
  EXPECT_FALSE(isDate("14-09-2026"));
  EXPECT_FALSE(isDate("2026-09-14T00:00:00Z"));
  EXPECT_FALSE(isDate(""));
}

TEST(DomainChecks, IfscAndMoneyFormats) {
  EXPECT_TRUE(isIfsc("SBIN0001234"));
  EXPECT_TRUE(isIfsc("HDFC0000123"));
  EXPECT_TRUE(isIfsc("PUNB0ABC300"));
  EXPECT_FALSE(isIfsc("SBIN1001234"));  // fifth character must be 0
  EXPECT_FALSE(isIfsc("sbin0001234"));
  EXPECT_FALSE(isIfsc("SBIN000123"));
  EXPECT_FALSE(isIfsc("SBIN00012345"));
  EXPECT_FALSE(isIfsc("SB1N0001234"));

  EXPECT_TRUE(isMoney("45000.00"));
  EXPECT_TRUE(isMoney("45000"));
  EXPECT_TRUE(isMoney("0.5"));
  EXPECT_TRUE(isMoney("9999999999999.99"));
  EXPECT_FALSE(isMoney("45000.001"));
  EXPECT_FALSE(isMoney("45000."));
  EXPECT_FALSE(isMoney(".50"));
  EXPECT_FALSE(isMoney("-5.00"));
  EXPECT_FALSE(isMoney("4,500.00"));
  EXPECT_FALSE(isMoney("10000000000000"));  // 14 digits
  EXPECT_FALSE(isMoney(""));
}

TEST(DomainChecks, AadhaarFoundInEachWrittenForm) {
  EXPECT_TRUE(containsPlainAadhaar("527634091836"));
  EXPECT_TRUE(containsPlainAadhaar("Aadhaar 527634091836 given on the call"));
  EXPECT_TRUE(containsPlainAadhaar("Aadhaar 5276 3409 1836 given"));
  EXPECT_TRUE(containsPlainAadhaar("Aadhaar 5276-3409-1836 given"));
  EXPECT_TRUE(containsPlainAadhaar("mixed 5276 3409-1836"));
  // Letters and punctuation are boundaries, not part of the number.
  EXPECT_TRUE(containsPlainAadhaar("UID:527634091836."));
  EXPECT_TRUE(containsPlainAadhaar("(5276-3409-1836)"));
  EXPECT_TRUE(containsPlainAadhaar("x5276 3409 1836y"));
  EXPECT_TRUE(containsPlainAadhaar("on 2026-10-06 5276 3409 1836"));
}

TEST(DomainChecks, AadhaarLookalikesPass) {
  EXPECT_FALSE(containsPlainAadhaar("XXXX-XXXX-1836"));
  EXPECT_FALSE(containsPlainAadhaar("xxxx xxxx 1836"));
  EXPECT_FALSE(containsPlainAadhaar("527634091837"));     // fails Verhoeff
  EXPECT_FALSE(containsPlainAadhaar("1527634091836"));    // 13-digit run
  EXPECT_FALSE(containsPlainAadhaar("5276340918360"));    // 13-digit run
  EXPECT_FALSE(containsPlainAadhaar("52763409183"));      // 11 digits
  EXPECT_FALSE(containsPlainAadhaar("5276  3409 1836"));  // two spaces: not one number
  EXPECT_FALSE(containsPlainAadhaar("5276_3409_1836"));
  EXPECT_FALSE(containsPlainAadhaar("52763 409 1836"));
  EXPECT_FALSE(containsPlainAadhaar("15276 3409 1836"));  // first group is a 5-digit run
  // A fourth group of four makes a 16-digit (card-like) number, not an Aadhaar number.
  EXPECT_FALSE(containsPlainAadhaar("4111 5276 3409 1836"));
  EXPECT_FALSE(containsPlainAadhaar("5276 3409 1836 4111"));
  // First digit 0 or 1 is never an Aadhaar number, even with a valid checksum.
  EXPECT_FALSE(containsPlainAadhaar("123456789010"));
  ASSERT_TRUE(verhoeffValid("123456789010"));
  EXPECT_FALSE(containsPlainAadhaar(""));
  EXPECT_FALSE(containsPlainAadhaar("call 1930 at once"));
}

TEST(DomainChecks, AadhaarInDevanagariText) {
  // ASCII digits inside Hindi text.
  EXPECT_TRUE(containsPlainAadhaar("पीड़ित का आधार 5276 3409 1836 फोन पर माँगा गया"));
  // Devanagari digits (U+0966..U+096F) count as digits, alone or mixed with ASCII ones.
  EXPECT_TRUE(containsPlainAadhaar("आधार ५२७६३४०९१८३६ दिया"));
  EXPECT_TRUE(containsPlainAadhaar("आधार ५२७६-३४०९-१८३६ दिया"));
  EXPECT_TRUE(containsPlainAadhaar("आधार ५२७६ 3409 १८३६"));
  EXPECT_FALSE(containsPlainAadhaar("आधार XXXX-XXXX-१८३६"));
  EXPECT_FALSE(containsPlainAadhaar("१५२७६३४०९१८३६"));  // 13 digits
  EXPECT_FALSE(containsPlainAadhaar("साइबर अपराध से बचाव हेतु १९३० पर कॉल करें"));
}

}  // namespace
}  // namespace dx
