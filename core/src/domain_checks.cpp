#include "domain_checks.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace dx {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// `n` ASCII digits at `pos` as a number; false if any is not a digit.
bool number(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!isDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool isLeapYear(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeapYear(y) ? 29 : kDays[m - 1];
}

// `YYYY-MM-DD` at the start of `s` (exactly 10 characters read).
bool datePart(std::string_view s) {
  int y, m, d;
  if (!number(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !number(s, 5, 2, m) || s[7] != '-' ||
      !number(s, 8, 2, d))
    return false;
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

// The Verhoeff tables: multiplication in the dihedral group D5, the position permutation.
constexpr std::uint8_t kD[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
    {3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
    {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
constexpr std::uint8_t kP[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                                    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                                    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                                    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};

// Verhoeff over digit values (0–9), the check digit last.
bool verhoeffOk(const std::uint8_t* digits, std::size_t n) {
  unsigned c = 0;
  for (std::size_t i = 0; i < n; ++i) c = kD[c][kP[i % 8][digits[n - 1 - i]]];
  return c == 0;
}

bool aadhaarShaped(const std::uint8_t* digits) {
  return digits[0] >= 2 && verhoeffOk(digits, 12);
}

}  // namespace

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isHex(s[i])) return false;
  }
  return true;
}

bool isDate(std::string_view s) {
  return s.size() == 10 && datePart(s);
}

bool isRfc3339Time(std::string_view s) {
  // 2026-10-06T10:15:00 is 19 characters; the shortest offset, Z, makes 20.
  int h, mi, se;
  if (s.size() < 20 || !datePart(s) || (s[10] != 'T' && s[10] != 't') || !number(s, 11, 2, h) ||
      s[13] != ':' || !number(s, 14, 2, mi) || s[16] != ':' || !number(s, 17, 2, se))
    return false;
  if (h > 23 || mi > 59 || se > 60) return false;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
    if (pos == start || pos - start > 9) return false;
  }
  if (pos >= s.size()) return false;  // the offset is mandatory
  int offsetMinutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!number(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !number(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offsetMinutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  if (se == 60) {
    // A leap second is inserted at the end of a UTC day only: 23:59:60Z.
    const int utcMinute = ((h * 60 + mi - offsetMinutes) % 1440 + 1440) % 1440;
    if (utcMinute != 23 * 60 + 59) return false;
  }
  return true;
}

bool isIfsc(std::string_view s) {
  if (s.size() != 11) return false;
  for (std::size_t i = 0; i < 4; ++i)
    if (!isUpper(s[i])) return false;
  if (s[4] != '0') return false;
  for (std::size_t i = 5; i < 11; ++i)
    if (!isUpper(s[i]) && !isDigit(s[i])) return false;
  return true;
}

bool isMoney(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size() && isDigit(s[pos])) ++pos;
  if (pos == 0 || pos > 13) return false;
  if (pos == s.size()) return true;
  if (s[pos] != '.') return false;
  const std::size_t decimals = s.size() - pos - 1;
  if (decimals < 1 || decimals > 2) return false;
  for (std::size_t i = pos + 1; i < s.size(); ++i)
    if (!isDigit(s[i])) return false;
  return true;
}

bool verhoeffValid(std::string_view digits) {
  if (digits.empty()) return false;
  unsigned c = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const char ch = digits[digits.size() - 1 - i];
    if (!isDigit(ch)) return false;
    c = kD[c][kP[i % 8][ch - '0']];
  }
  return c == 0;
}

bool containsPlainAadhaar(std::string_view text) {
  // Digits are ASCII 0-9 and, because Hindi text may write numbers in Devanagari, also
  // U+0966..U+096F (० to ९, UTF-8 E0 A5 A6..AF), which count as 0-9. A mix of both in one run
  // counts as one run. No other script's digits are recognised.
  //
  // The text is read as maximal runs of digits. A run of exactly 12 is a candidate. Runs joined
  // by exactly one ' ' or '-' form a chain; three joined 4-digit runs are a candidate unless the
  // chain continues with another 4-digit run on either side (a 16-digit card number in groups is
  // not an Aadhaar number, as a 13+ digit run is not).
  const std::size_t n = text.size();
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());

  std::array<std::uint8_t, 12> streak{};  // digits of the current chain of joined 4-digit runs
  unsigned streakRuns = 0;                // how many 4-digit runs it has (stops counting at 4)
  std::size_t prevEnd = 0;                // byte just past the previous run
  bool havePrev = false;
  std::size_t prevLength = 0;

  auto streakEnds = [&]() { return streakRuns == 3 && aadhaarShaped(streak.data()); };
  // The digit at byte `at`: its value and its width in bytes.
  auto digitAt = [&](std::size_t at, std::uint8_t& v, std::size_t& w) {
    if (bytes[at] >= '0' && bytes[at] <= '9') {
      v = static_cast<std::uint8_t>(bytes[at] - '0');
      w = 1;
      return true;
    }
    if (bytes[at] == 0xE0 && at + 2 < n && bytes[at + 1] == 0xA5 && bytes[at + 2] >= 0xA6 &&
        bytes[at + 2] <= 0xAF) {
      v = static_cast<std::uint8_t>(bytes[at + 2] - 0xA6);
      w = 3;
      return true;
    }
    return false;
  };

  std::size_t i = 0;
  std::uint8_t value = 0;
  std::size_t width = 0;
  while (i < n) {
    if (!digitAt(i, value, width)) {
      ++i;
      continue;
    }
    // Read the whole run, keeping its first 12 digits.
    const std::size_t start = i;
    std::array<std::uint8_t, 12> run{};
    std::size_t length = 0;
    while (i < n && digitAt(i, value, width)) {
      if (length < run.size()) run[length] = value;
      ++length;
      i += width;
    }
    if (length == 12 && aadhaarShaped(run.data())) return true;

    const bool joined =
        havePrev && start == prevEnd + 1 && (bytes[prevEnd] == ' ' || bytes[prevEnd] == '-');
    if (length == 4 && joined && prevLength == 4 && streakRuns > 0) {
      if (streakRuns < 3) std::copy(run.begin(), run.begin() + 4, streak.begin() + 4 * streakRuns);
      if (streakRuns < 4) ++streakRuns;
    } else {
      if (streakEnds()) return true;
      streakRuns = 0;
      if (length == 4) {
        std::copy(run.begin(), run.begin() + 4, streak.begin());
        streakRuns = 1;
      }
    }
    havePrev = true;
    prevEnd = i;
    prevLength = length;
  }
  return streakEnds();
}

}  // namespace dx
