// libFuzzer: the hub's config (dx::parseConfig, what loadConfig does with the file's text): a
// config or a dx::ConfigError naming what is wrong; any other exception escapes and is a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    dx::HubConfig c = dx::parseConfig(text, "fuzz.json");
    (void)c;
  } catch (const dx::ConfigError&) {
  }
  return 0;
}
