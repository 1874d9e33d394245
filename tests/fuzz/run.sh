#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer harness of the sanitizer build for SECONDS from its seed
# corpus (tests/fuzz/corpus/<name>, only read) and a working corpus (var/fuzz/<name>, kept
# between runs), and writes executions and crashes to var/stress/fuzz.json.
# Usage: tests/fuzz/run.sh [BUILD_DIR (build-san)] [SECONDS (60)]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-san}
seconds=${2:-60}
out=${DX_STRESS_DIR:-var/stress}
mkdir -p "$out" var/fuzz
results=()
status=0
for fuzzer in "$build"/fuzz_*; do
  [[ -x "$fuzzer" ]] || continue
  name=$(basename "$fuzzer"); name=${name#fuzz_}
  mkdir -p "var/fuzz/$name"
  log="var/fuzz/$name.log"
  echo "fuzzing $name for $seconds s"
  before=$(compgen -G "var/fuzz/crash-$name-*" | wc -l)
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="var/fuzz/crash-$name-" "var/fuzz/$name" "tests/fuzz/corpus/$name" \
      >"$log" 2>&1
  code=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(( $(compgen -G "var/fuzz/crash-$name-*" | wc -l) - before ))
  [[ $code -ne 0 && $crashes -eq 0 ]] && crashes=1
  [[ $crashes -ne 0 ]] && status=1 && echo "  $name: exit $code; see $log"
  results+=("$name ${execs:-0} $crashes")
done
python3 - "$out/fuzz.json" "$seconds" "${results[@]}" <<'PY'
import json, sys
path, seconds, rows = sys.argv[1], int(sys.argv[2]), [r.split() for r in sys.argv[3:]]
figures = {"seconds_each": seconds, "harnesses": len(rows)}
for name, execs, crashes in rows:
    figures[f"{name}_executions"] = int(execs)
    figures[f"{name}_crashes"] = int(crashes)
figures["executions"] = sum(int(r[1]) for r in rows)
figures["crashes"] = sum(int(r[2]) for r in rows)
doc = {"test": "fuzzing (libFuzzer, ASan + UBSan)",
       "must_hold": "no crash, sanitizer error, leak, timeout or out-of-memory in the strict JSON "
                    "parser, JWS verification, envelope and schema validation, the station "
                    "CSV/JSON reader or config loading",
       "passed": figures["crashes"] == 0 and len(rows) > 0, "figures": figures}
open(path, "w").write(json.dumps(doc, indent=1) + "\n")
print(f"{figures['executions']} executions, {figures['crashes']} crashes -> {path}")
PY
exit $status
