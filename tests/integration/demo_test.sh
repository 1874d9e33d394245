#!/usr/bin/env bash
# `dxhub demo` tells the Samastipur story end to end over TLS and its figures are right: the
# victim's 45,000 at SBI, 12,000 held there, the 18,000 and 10,000 sent on chased to HDFC and PNB
# and held, 5,000 gone at an ATM; PNB answered late and was escalated; the notice was received and
# acted on; the audit chain verifies; the case JSON and the SVG graph are written.
# Run from the repository root: bash tests/integration/demo_test.sh
set -uo pipefail

build=${DX_BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dxhub-demo-test.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf -- "$tmp"' EXIT
out=$tmp/demo.out
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect() {  # expect PATTERN WHAT: a line of the demo's output matches the extended regex
  grep -Eq -- "$1" "$out" || fail "$2 (no line matching: $1)"
}

timeout 150 "$build/dxhub" demo --dir "$tmp/demo" >"$out" 2>&1
rc=$?
cat "$out"
[[ $rc -eq 0 ]] || fail "dxhub demo exited $rc"

expect 'case 31509260012345: disputed 45000\.00, held 40000\.00, escaped 5000\.00 \(ATM 5000\.00\)' \
  "the summary's money"
expect 'audit chain verified' "the audit chain"
expect 'cc\.samastipur +-> bank\.sbi +freeze\.request +layer 1, hold 45000\.00' "the layer-1 request"
expect 'bank\.sbi +-> cc\.samastipur +freeze\.response +partially_held 12000\.00' "SBI's answer"
expect 'cc\.samastipur +-> bank\.hdfc +freeze\.request +layer 2, hold 18000\.00' "the chase to HDFC"
expect 'cc\.samastipur +-> bank\.pnb +freeze\.request +layer 2, hold 10000\.00' "the chase to PNB"
expect 'hub\.samastipur +-> cc\.samastipur +hub\.escalation +deadline_passed' "PNB's escalation"
expect 'bank\.pnb +-> cc\.samastipur +freeze\.response +held 10000\.00' "PNB's late answer"
expect 'sp\.samastipur +-> dm\.samastipur +notice\.awareness' "the notice"
expect 'dm\.samastipur +-> sp\.samastipur +notice\.ack +received' "the notice received"
expect 'dm\.samastipur +-> sp\.samastipur +notice\.ack +action_taken' "the action taken"
for station in nagar mufassil kalyanpur dalsinghsarai rosera; do
  expect "ps\.samastipur\.$station +-> cc\.samastipur +station\.record +24 records" "$station's records"
done

python3 - "$tmp/demo" <<'PY' || fail "the files the demo wrote"
import json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
case = json.load(open(f"{d}/case-31509260012345.json"))
t = case["totals"]
assert (t["disputed"], t["held"], t["escaped"]["atm"]) == ("45000.00", "40000.00", "5000.00"), t
root = case["requests"][0]
assert root["bank"] == "bank.sbi" and root["layer"] == 1, root
kids = sorted((c["bank"], c["amount"], c["status"]) for c in root["children"])
assert kids == [("bank.hdfc", "18000.00", "held"), ("bank.pnb", "10000.00", "held")], kids
svg = ET.parse(f"{d}/cyber-crime.svg").getroot()
assert svg.tag.endswith("svg"), svg.tag
PY

[[ $failures -eq 0 ]] || { echo "$failures checks failed"; exit 1; }
echo "PASS: the demo told the whole story"
