#pragma once
// Money as the contract writes it (DESIGN §4: a string of rupees with at most two decimals) and
// as the hub adds it up: whole paise in a 64-bit integer, so no sum is ever rounded.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dx {

// "45000", "45000.5", "45000.50" → 4500050 paise; nullopt unless isMoney(text).
std::optional<std::int64_t> parsePaise(std::string_view text);
// 4500050 → "45000.50": the contract's form, two decimals always.
std::string formatPaise(std::int64_t paise);
// 12345678 → "₹1,23,456.78": rupees with Indian digit grouping (lakh, crore), for people.
std::string formatRupeesIndian(std::int64_t paise);

}  // namespace dx
