#include "money.h"

#include "domain_checks.h"

namespace dx {

std::optional<Paise> parseMoney(std::string_view text) {
  if (!isMoney(text)) return std::nullopt;
  Paise rupees = 0, paise = 0;
  std::size_t pos = 0;
  for (; pos < text.size() && text[pos] != '.'; ++pos) rupees = rupees * 10 + (text[pos] - '0');
  int decimals = 0;
  for (++pos; pos < text.size(); ++pos, ++decimals) paise = paise * 10 + (text[pos] - '0');
  if (decimals == 1) paise *= 10;
  return rupees * 100 + paise;
}

std::string formatMoney(Paise paise) {
  std::string sign = paise < 0 ? "-" : "";
  if (paise < 0) paise = -paise;
  std::string cents = std::to_string(paise % 100);
  return sign + std::to_string(paise / 100) + "." + (cents.size() == 1 ? "0" : "") + cents;
}

std::string formatRupeesIndian(Paise paise) {
  std::string plain = formatMoney(paise);
  const bool negative = plain[0] == '-';
  const std::string whole = plain.substr(negative ? 1 : 0, plain.size() - 3 - (negative ? 1 : 0));
  // The last three digits, then groups of two: 1,23,45,678.
  std::string grouped;
  const std::size_t n = whole.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t left = n - i;  // digits from here to the end
    if (i > 0 && (left == 3 || (left > 3 && (left - 3) % 2 == 0))) grouped += ',';
    grouped += whole[i];
  }
  return std::string(negative ? "-" : "") + "₹" + grouped + plain.substr(plain.size() - 3);
}

}  // namespace dx
