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

}  // namespace dx
