#!/usr/bin/env bash
# make stress: the stress suite's full runs, then docs/RELIABILITY.md from every figures file in
# var/stress/ (these drivers' and any other test's that writes one there). Usage, from the
# repository's root:  tests/stress/run.sh [BUILD_DIR]   (default: build)
# Every driver runs even if one before it failed; the exit status is 1 if any failed.
set -uo pipefail
readonly PY=/usr/bin/python3   # Debian's interpreter (another python3 may come first on PATH)
build=${1:-build}
[[ $build = /* ]] || build=$PWD/$build
cd "$(dirname "$0")/../.."
out=var/stress
mkdir -p "$out"
[[ -x $build/dx_stress ]] || { echo "tests/stress/run.sh: $build/dx_stress not found: run 'make build'" >&2; exit 1; }

failed=0
run() {  # run NAME DRIVER ARGS...: one driver; a stub figures file if it wrote none
  local name=$1 file=$out/$1.json
  shift
  rm -f "$file"
  echo "== dx_stress $*"
  "$build/dx_stress" "$@" --figures "$file"
  local rc=$?
  if [[ $rc -eq 77 ]]; then
    echo "== $name: skipped"
    [[ -f $file ]] || printf '{"test": "%s", "must_hold": "(skipped on this machine: see the run log)", "passed": false, "figures": {"exit_status": 77}}\n' "$name" >"$file"
    return
  fi
  if [[ ! -f $file ]]; then
    printf '{"test": "%s", "must_hold": "(the driver ended without writing its figures)", "passed": false, "figures": {"exit_status": %d}}\n' "$name" "$rc" >"$file"
  fi
  [[ $rc -eq 0 ]] || failed=1
}

run crash_loop crash-loop --kills "${DX_STRESS_KILLS:-40}"
run disk_full disk-full
run peer_faults peer-faults --messages 10
run slow_clients slow-clients --attackers 300 --seconds 10
"$PY" tests/stress/reliability_doc.py "$out" docs/RELIABILITY.md || failed=1
exit $failed
