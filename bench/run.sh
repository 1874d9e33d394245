#!/usr/bin/env bash
# make bench: the micro-benchmarks and, in the same run, the machine's own limits, so that every
# figure is also a ratio that holds on a noisy shared machine: sign, verify, parse + validate, and
# the journal alone (bench/journal_bench.cpp). Figures go to stdout and to
# var/bench/foundation.json.
set -euo pipefail
build=${1:-build}
out=var/bench
mkdir -p "$out"

echo "== openssl speed (the signature ceiling of this machine, measured now)"
openssl speed -seconds 3 ed25519 ecdsap256 2>/dev/null | tee "$out/openssl-speed.txt" | grep -E 'bits (ecdsa|EdDSA)'

echo "== dxhub micro-benchmarks"
DX_BENCH_PKI=${DX_BENCH_PKI:-var/pki} "$build/dx_micro_bench" --benchmark_min_time=2 \
  --benchmark_format=json --benchmark_out="$out/micro.json" --benchmark_out_format=json \
  >/dev/null
/usr/bin/python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
speed = open(f"{out}/openssl-speed.txt").read()
ossl = {}
for line in speed.splitlines():
    m = re.search(r"\((nistp256|Ed25519)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        ossl[m.group(1)] = (float(m.group(2)), float(m.group(3)))
micro = {b["name"]: b for b in json.load(open(f"{out}/micro.json"))["benchmarks"]}
def rate(name):
    return micro[name]["items_per_second"]
rows = []
for alg, key in (("ed25519", "Ed25519"), ("es256", "nistp256")):
    s, v = rate(f"signRaw/{alg}"), rate(f"verifyRaw/{alg}")
    rows.append((f"{alg} sign/s", s, s / ossl[key][0]))
    rows.append((f"{alg} verify/s", v, v / ossl[key][1]))
pv = micro["BM_ParseAndValidateFreezeRequest"]
us = pv["real_time"] / 1000 if pv["time_unit"] == "ns" else pv["real_time"]
print(f"{'figure':28} {'dxhub':>12} {'ratio to openssl speed':>24}")
for name, value, ratio in rows:
    print(f"{name:28} {value:12.0f} {ratio:24.2f}")
print(f"{'parse+validate freeze.request':28} {us:10.2f}µs")
# The journal alone (store, chain, receipt signature, fsync'd group commit) from 32 threads,
# against the P-256 signature rate: the journal signs every receipt on its one thread.
journal = next(b for n, b in micro.items() if n.startswith("BM_JournalAccept"))["items_per_second"]
print(f"{'journal msgs/s, 32 threads':28} {journal:12.0f} {journal / ossl['nistp256'][0]:24.2f}"
      "  (of P-256 sign)")
json.dump({"signatures": {n: {"rate": v, "ratio": r} for n, v, r in rows},
           "parse_validate_us": us, "openssl_speed": ossl,
           "journal_per_s": journal, "journal_ratio_to_p256_sign": journal / ossl["nistp256"][0]},
          open(f"{out}/foundation.json", "w"), indent=2)
print(f"figures written to {out}/foundation.json")
PY
