#pragma once
#include <string>

namespace dx {

// What one delivery attempt came to. The core owns reliability: a connector reports, and the
// core retries with back-off, dead-letters and escalates.
struct DeliveryResult {
  enum class Kind { Delivered, Retry, Reject };
  Kind kind;
  std::string reason;  // why a Retry or Reject happened, for the status and the audit log

  static DeliveryResult delivered() { return {Kind::Delivered, {}}; }
  static DeliveryResult retry(std::string why) { return {Kind::Retry, std::move(why)}; }
  static DeliveryResult reject(std::string why) { return {Kind::Reject, std::move(why)}; }
};

}  // namespace dx
