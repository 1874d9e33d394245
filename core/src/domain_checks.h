#pragma once
// Checks of single values that a JSON Schema (draft-04, as RapidJSON 1.1 implements it) cannot
// express: real calendar dates, UUIDs, and plain Aadhaar numbers inside free text (DESIGN §4).
// Pure functions of their argument: no allocation, no locale, safe from any thread.
#include <string_view>

namespace dx {

// RFC 9562 textual form: 8-4-4-4-12 hex digits, either case; any version or variant (the nil
// and max UUIDs included), no braces, no "urn:uuid:" prefix.
bool isUuid(std::string_view text);

// RFC 3339 date-time with a mandatory offset: `YYYY-MM-DDThh:mm:ss[.f]` then `Z` or `±hh:mm`.
// Real calendar (leap years), hours 00–23, minutes 00–59, seconds 00–59, or 60 only at 23:59 UTC
// (a leap second). Fractions have 1–9 digits. `t` and `z` may be lower case (RFC 3339 §5.6).
bool isRfc3339Time(std::string_view text);

// `YYYY-MM-DD`, a real date of the proleptic Gregorian calendar.
bool isDate(std::string_view text);

// Indian Financial System Code: `^[A-Z]{4}0[A-Z0-9]{6}$`.
bool isIfsc(std::string_view text);

// Rupees as the contract writes them: `^[0-9]{1,13}(\.[0-9]{1,2})?$`.
bool isMoney(std::string_view text);

// True when `digits` is non-empty, only ASCII 0–9, and its Verhoeff checksum is valid (the last
// digit is the check digit of the others), as on Aadhaar numbers.
bool verhoeffValid(std::string_view digits);

// True when `text` (UTF-8) contains a plain Aadhaar number: 12 digits, the first 2–9, passing
// Verhoeff, written together (`527634091836`) or as three groups of four separated by a single
// space or hyphen (`5276 3409 1836`, `5276-3409-1836`), and not part of a longer run of digits
// (or of a longer chain of digit groups). Masked forms (`XXXX-XXXX-1836`) pass.
bool containsPlainAadhaar(std::string_view text);

}  // namespace dx
