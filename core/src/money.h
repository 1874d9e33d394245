#pragma once
// Money as the contract writes it: rupees in a JSON string with at most two decimals
// ("45000.00"). Kept as whole paise so sums are exact.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dx {

using Paise = std::int64_t;

// "45000.5" → 4500050; nullopt if it is not money as the contract writes it.
std::optional<Paise> parseMoney(std::string_view text);
// 4500050 → "45000.50".
std::string formatMoney(Paise paise);
// 12345678 → "₹1,23,456.78": rupees with Indian digit grouping (lakh, crore), for people.
std::string formatRupeesIndian(Paise paise);

}  // namespace dx
