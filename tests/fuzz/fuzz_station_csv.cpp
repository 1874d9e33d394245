// libFuzzer: the station_records connector's export reader (CSV and JSON): every input gives a
// file error or rows, each good (a body) or bad (a reason); never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "message_validator.h"
#include "record_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dx::MessageValidator validator(DX_SOURCE_DIR "/config/schemas");
  static const dx::station_records::RecordReader reader(validator);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // No extension: the reader picks CSV or JSON by the first character, as for a dropped file.
  dx::station_records::ReadResult r =
      reader.read("export", text, "ps.samastipur.nagar", "cc.samastipur");
  for (const auto& row : r.rows)
    if (row.ok() == row.body.empty()) __builtin_trap();  // a good row has a body, a bad one none
  return 0;
}
