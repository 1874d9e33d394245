#include "money.h"

#include <cstdio>

#include "domain_checks.h"

namespace dx {

std::optional<std::int64_t> parsePaise(std::string_view text) {
  if (!isMoney(text)) return std::nullopt;  // at most 13 digits of rupees: no overflow below
  std::int64_t rupees = 0, paise = 0;
  std::size_t pos = 0;
  for (; pos < text.size() && text[pos] != '.'; ++pos) rupees = rupees * 10 + (text[pos] - '0');
  if (pos < text.size()) {
    paise = (text[pos + 1] - '0') * 10;
    if (pos + 2 < text.size()) paise += text[pos + 2] - '0';
  }
  return rupees * 100 + paise;
}

std::string formatPaise(std::int64_t paise) {
  const char* sign = paise < 0 ? "-" : "";
  std::uint64_t p = paise < 0 ? 0 - static_cast<std::uint64_t>(paise) : paise;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", sign, static_cast<unsigned long long>(p / 100),
                static_cast<unsigned long long>(p % 100));
  return buf;
}

std::string formatRupeesIndian(std::int64_t paise) {
  std::string plain = formatPaise(paise);
  bool negative = plain[0] == '-';
  std::string whole = plain.substr(negative ? 1 : 0, plain.size() - 3 - (negative ? 1 : 0));
  // The last three digits, then groups of two: 1,23,45,678.
  std::string grouped;
  int n = static_cast<int>(whole.size());
  for (int i = 0; i < n; ++i) {
    int left = n - i;  // digits from here to the end
    if (i > 0 && (left == 3 || (left > 3 && (left - 3) % 2 == 0))) grouped += ',';
    grouped += whole[static_cast<std::size_t>(i)];
  }
  return std::string(negative ? "-" : "") + "₹" + grouped + plain.substr(plain.size() - 3);
}

}  // namespace dx
