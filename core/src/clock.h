#pragma once
// Time: an injectable clock (tests move it by hand), RFC 3339 and fresh message ids.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dx {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  std::int64_t unixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance();
};

// A clock that stands still until a test moves it. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(TimePoint start) : ns_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(ns_.load())); }
  void advance(std::chrono::nanoseconds d) {
    ns_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
  }

 private:
  std::atomic<TimePoint::rep> ns_;
};

// Unix seconds of an RFC 3339 time with offset (fractions dropped), or nullopt if it is not one.
std::optional<std::int64_t> parseRfc3339(std::string_view text);
// RFC 3339 in UTC with "Z", to the second.
std::string formatRfc3339(std::int64_t unixSeconds);
// A random (version 4) UUID from OpenSSL's CSPRNG, lower case.
std::string newUuid();
// A UUID derived from `name` (the first 122 bits of its SHA-256, as RFC 9562 version 8): the
// same name gives the same id in every hub instance. For the hub's own messages, named after
// what they are about, so that each is sent once (the store's unique id decides).
std::string namedUuid(std::string_view name);

}  // namespace dx
