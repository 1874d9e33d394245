#!/usr/bin/env bash
# make bench, the hub under load (DESIGN §10): starts `BUILD_DIR/dxhub serve` on a free loopback
# port with its own dev PKI and a fresh SQLite file, then, in one run:
#   (a) GET /healthz at 32 connections (~5 s): the HTTP stack's ceiling on this machine, now;
#   (b) POST freeze.requests at 32 connections, closed loop (~10 s): peak receipted msgs/s,
#       with the hub's memory (VmRSS sampled, VmHWM) during it;
#   (c) the same at half that rate, open loop (~10 s): receipt latency p99 at half load;
#   (d) the same POSTs as (b) to `dx_sig_bound` (bench/sig_bound.cpp) on the same port once the
#       hub has stopped: HTTPS, the Ed25519 verify and the receipt's P-256 signature and nothing
#       else, the most any hub on this HTTP stack could receipt here;
#   (e) dx_sig_bound at the rate of (c) (~10 s): its latency, the floor under the hub's there;
# and `openssl speed` for the signature ceiling: nproc / (1/Ed25519 verify + 1/P-256 sign).
# Prints a table and writes var/bench/hub.json. Usage, from the repository's root:
#   bench/load.sh [BUILD_DIR]        (default: build)
# Traffic goes to 127.0.0.1 only; the whole run stays under 2 min; both servers are always stopped.
set -euo pipefail

readonly PROG=bench/load.sh
readonly PY=/usr/bin/python3      # Debian's interpreter (another python3 may come first on PATH)
readonly CONNECTIONS=32
readonly HEALTHZ_SECONDS=5
readonly PEAK_SECONDS=10
readonly HALF_SECONDS=10
readonly PRESIGN_SECONDS=8   # at most this long signing before (b) and before (c): the 90 s bound

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

case ${1:-} in
  -h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
build=${1:-build}
[[ $build = /* ]] || build=$PWD/$build
cd "$(dirname "$0")/.."   # the repository's root: config/ and sim/ paths are relative to it
out=var/bench
pki=$out/pki
mkdir -p "$out"

[[ -x $build/dxhub ]] || die "$build/dxhub not found: run 'make build' first"
[[ -x $build/dx_load ]] || die "$build/dx_load not found: run 'make build' first (needs Google Benchmark's CMake package, as bench/ does)"
[[ -x $build/dx_sig_bound ]] || die "$build/dx_sig_bound not found: run 'make build' first"
"$build/dxhub" serve --help >/dev/null 2>&1 || die "$build/dxhub has no 'serve' command yet"
[[ -x $PY ]] || die "$PY not found: install python3 (apt-get install python3)"

# receipted_per_s of a dx_load result, rounded
rate_of() {
  "$PY" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["receipted_per_s"]))' "$1"
}

hub_pid=
bound_pid=
sampler_pid=
# SIGTERM to a server this script started; SIGKILL if it is still there 5 s later.
stop_server() {
  local pid=$1 name=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$PROG: $name did not stop within 5 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
  if [[ -n $hub_pid ]]; then stop_server "$hub_pid" "the hub"; fi
  if [[ -n $bound_pid ]]; then stop_server "$bound_pid" dx_sig_bound; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the signature ceiling
echo "== openssl speed -seconds 3 ed25519 ecdsap256 (the signature ceiling, measured now)"
openssl speed -seconds 3 ed25519 ecdsap256 2>/dev/null >"$out/load-openssl-speed.txt" ||
  die "openssl speed failed"
grep -E 'bits (ecdsa|EdDSA)' "$out/load-openssl-speed.txt"
ceiling=$("$PY" - "$out/load-openssl-speed.txt" "$(nproc)" <<'PY'
import re, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.search(r"\((nistp256|Ed25519)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        rates[m.group(1)] = (float(m.group(2)), float(m.group(3)))
if "Ed25519" not in rates or "nistp256" not in rates:
    sys.exit("openssl speed printed no Ed25519 or P-256 rate")
print(f"{int(sys.argv[2]) / (1 / rates['Ed25519'][1] + 1 / rates['nistp256'][0]):.0f}")
PY
)
echo "signature ceiling: $ceiling msgs/s ($(nproc) cores x 1 / (Ed25519 verify + P-256 sign))"

# The disk's own limit for durable commits: 4 KiB written and fsync'd, 1,000 times, where the
# hub's database lives: how many a second, and the p99 of one. Every receipt waits for one such
# commit (shared by its batch).
fsync_probe=$("$PY" - "$out" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
took = []
started = time.perf_counter()
for _ in range(1000):
    os.write(fd, b"x" * 4096)
    t = time.perf_counter()
    os.fsync(fd)
    took.append(time.perf_counter() - t)
elapsed = time.perf_counter() - started
os.close(fd)
os.unlink(path)
took.sort()
print(f"{len(took) / elapsed:.0f} {1000 * took[int(0.99 * len(took))]:.2f}")
PY
)
read -r fsyncs fsync_p99_ms <<<"$fsync_probe"
echo "fsync ceiling: $fsyncs durable commits/s on this disk (p99 of one: $fsync_p99_ms ms)"

# ---------------------------------------------------------------- PKI, config, the hub
certs/make-dev-pki.sh "$pki" >/dev/null
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -f "$out/hub.db" "$out/hub.db-wal" "$out/hub.db-shm" "$out/hub.db-journal"
"$PY" - config/dxhub.json "$out/dxhub.json" "$pki" "$out/hub.db" "$port" "${DX_BENCH_PLUGINS:-none}" <<'PY'
import json, sys
src, dst, pki, db, port, plugins = sys.argv[1:]
c = json.load(open(src))
old = c["pki"]["dir"].rstrip("/")
c["hub"]["listen"] = f"127.0.0.1:{port}"
c["pki"] = {"dir": pki, "ca": f"{pki}/ca.crt", "crl": f"{pki}/ca.crl"}
c["store"] = {"url": f"sqlite:{db}"}
for p in c.get("participants", []):
    if "certs" in p:
        p["certs"] = [pki + x[len(old):] if x.startswith(old + "/") else x for x in p["certs"]]
if plugins != "keep":
    c["plugins"] = []  # ingress only: no connector retrying deliveries to absent endpoints
json.dump(c, open(dst, "w"), indent=2, ensure_ascii=False)
PY

url=https://127.0.0.1:$port
client=(--url "$url" --ca "$pki/ca.crt" --cert "$pki/cc.samastipur.crt" --key "$pki/cc.samastipur.key"
        --timeout 10)

# Waits up to ~15 s for a server this script started to answer GET /healthz on $url.
wait_until_answering() {
  local pid=$1 name=$2 log=$3
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$name exited at start-up (log above)"; }
    if timeout 5 "$build/dx_load" "${client[@]}" --connections 1 --messages 1 --method GET \
         --path /healthz --quiet >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "$name did not answer on $url/healthz within 15 s (see $log)"
}

"$build/dxhub" serve --config "$out/dxhub.json" --listen "127.0.0.1:$port" >"$out/hub.log" 2>&1 &
hub_pid=$!
echo "== dxhub serve on $url (pid $hub_pid, log $out/hub.log)"
wait_until_answering "$hub_pid" "the hub" "$out/hub.log"

# ---------------------------------------------------------------- (a) the HTTP stack's ceiling
echo "== (a) GET /healthz, $CONNECTIONS connections, ${HEALTHZ_SECONDS} s"
timeout 60 "$build/dx_load" "${client[@]}" --connections "$CONNECTIONS" --duration "$HEALTHZ_SECONDS" \
  --method GET --path /healthz --quiet --json "$out/load-healthz.json" || die "the /healthz loop failed"
healthz=$(rate_of "$out/load-healthz.json")

# ---------------------------------------------------------------- (b) peak, with the hub's memory
# Enough pre-signed messages for the run at the lower of the two ceilings (+20 %), but no more
# than ${PRESIGN_SECONDS} s of signing; if the hub is faster than the pool, dx_load ends early and
# says so, and its rate still holds over the shorter interval.
pool=$("$PY" -c 'import sys; print(int(1.2 * min(float(sys.argv[1]), float(sys.argv[2])) * float(sys.argv[3])) + 1000)' \
  "$ceiling" "$healthz" "$PEAK_SECONDS")
echo "== (b) POST /v1/messages freeze.request, $CONNECTIONS connections, closed loop, ${PEAK_SECONDS} s"
rss_file=$out/load-rss.txt
: >"$rss_file"
( while kill -0 "$hub_pid" 2>/dev/null; do
    awk '/^VmRSS:/ {print $2}' "/proc/$hub_pid/status" >>"$rss_file" 2>/dev/null || true
    sleep 0.2
  done ) &
sampler_pid=$!
timeout 75 "$build/dx_load" "${client[@]}" --connections "$CONNECTIONS" --duration "$PEAK_SECONDS" \
  --presign "$pool" --presign-seconds "$PRESIGN_SECONDS" --json "$out/load-peak.json" || die "the peak run failed (see $out/hub.log)"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$hub_pid/status")
# The hub's own view of (b) (group commits: how many, how big, how long), if curl is here.
: >"$out/load-metrics-peak.txt"
if command -v curl >/dev/null; then
  curl -sS --max-time 5 --cacert "$pki/ca.crt" "$url/metrics" >"$out/load-metrics-peak.txt" 2>/dev/null || true
fi
rss_kb=$(sort -n "$rss_file" | tail -n 1)
peak=$(rate_of "$out/load-peak.json")
((peak > 0)) || die "no message was receipted at peak (answers above; see $out/hub.log)"

# ---------------------------------------------------------------- (c) half load, open loop
half=$(((peak + 1) / 2))
echo "== (c) POST /v1/messages at half the peak: $half msgs/s, open loop, ${HALF_SECONDS} s"
timeout 60 "$build/dx_load" "${client[@]}" --connections "$CONNECTIONS" --duration "$HALF_SECONDS" \
  --rate "$half" --presign-seconds "$PRESIGN_SECONDS" --json "$out/load-half.json" || die "the half-load run failed (see $out/hub.log)"

kill -0 "$hub_pid" 2>/dev/null || die "the hub died during the run (see $out/hub.log)"
stop_server "$hub_pid" "the hub"
hub_pid=

# ---------------------------------------------------------------- (d) the bound for any hub here
# dx_sig_bound: the hub's TLS context and HTTP connection, and per message only the Ed25519
# verify and the P-256 receipt signature; nothing stored. What HTTPS costs beside the signatures.
"$build/dx_sig_bound" --config "$out/dxhub.json" --listen "127.0.0.1:$port" >"$out/bound.log" 2>&1 &
bound_pid=$!
wait_until_answering "$bound_pid" dx_sig_bound "$out/bound.log"
echo "== (d) the same POSTs to dx_sig_bound (HTTPS + verify + receipt signature, nothing stored), ${PEAK_SECONDS} s"
timeout 75 "$build/dx_load" "${client[@]}" --connections "$CONNECTIONS" --duration "$PEAK_SECONDS" \
  --presign "$pool" --presign-seconds "$PRESIGN_SECONDS" --json "$out/load-bound.json" || die "the dx_sig_bound run failed (see $out/bound.log)"
echo "== (e) dx_sig_bound at the rate of (c): $half msgs/s, open loop, ${HALF_SECONDS} s"
timeout 60 "$build/dx_load" "${client[@]}" --connections "$CONNECTIONS" --duration "$HALF_SECONDS" \
  --rate "$half" --presign-seconds "$PRESIGN_SECONDS" --json "$out/load-bound-half.json" || die "the dx_sig_bound half-load run failed (see $out/bound.log)"
stop_server "$bound_pid" dx_sig_bound
bound_pid=
(($(rate_of "$out/load-bound.json") > 0)) || die "dx_sig_bound receipted nothing (answers above; see $out/bound.log)"

# ---------------------------------------------------------------- the table
"$PY" - "$out" "$ceiling" "$(nproc)" "${hwm_kb:-0}" "${rss_kb:-0}" "$fsyncs" "$fsync_p99_ms" <<'PY'
import json, sys
out, ceiling, cores, hwm_kb, rss_kb = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fsyncs, fsync_p99_ms = float(sys.argv[6]), float(sys.argv[7])
h = json.load(open(f"{out}/load-healthz.json"))
p = json.load(open(f"{out}/load-peak.json"))
c = json.load(open(f"{out}/load-half.json"))
b = json.load(open(f"{out}/load-bound.json"))
bh = json.load(open(f"{out}/load-bound-half.json"))
speed = {}
import re
for line in open(f"{out}/load-openssl-speed.txt"):
    m = re.search(r"\((nistp256|Ed25519)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        speed[m.group(1)] = {"sign_per_s": float(m.group(2)), "verify_per_s": float(m.group(3))}
peak, healthz, bound = p["receipted_per_s"], h["receipted_per_s"], b["receipted_per_s"]
rows = [
    ("receipted msgs/s at peak (32 conn)", f"{peak:.0f}"),
    ("  ratio to the signature ceiling", f"{peak / ceiling:.2f}  (ceiling {ceiling:.0f}/s)"),
    ("  ratio to the /healthz ceiling", f"{peak / healthz:.2f}  (/healthz {healthz:.0f}/s)"),
    ("  ratio to dx_sig_bound", f"{peak / bound:.2f}  (dx_sig_bound {bound:.0f}/s, "
                                f"{bound / ceiling:.2f} of the signature ceiling)"),
    ("latency at peak p50 / p99 / p99.9", "{p50:.2f} / {p99:.2f} / {p999:.2f} ms".format(
        p50=p["latency_ms"]["p50"], p99=p["latency_ms"]["p99"], p999=p["latency_ms"]["p99.9"])),
    (f"receipt p99 at half load ({c['target_rate']:.0f}/s)", "{:.2f} ms  (p50 {:.2f}, p99.9 {:.2f}; achieved {:.0f}/s)".format(
        c["latency_ms"]["p99"], c["latency_ms"]["p50"], c["latency_ms"]["p99.9"], c["receipted_per_s"])),
    ("  dx_sig_bound at the same rate", "{:.2f} ms  (p50 {:.2f})".format(
        bh["latency_ms"]["p99"], bh["latency_ms"]["p50"])),
    ("hub RSS during peak (max VmRSS / VmHWM)", f"{rss_kb / 1024:.0f} / {hwm_kb / 1024:.0f} MiB"),
]
not_ok = {k: v for k, v in p["by_status"].items() if k not in ("200", "202")}
not_ok_half = {k: v for k, v in c["by_status"].items() if k not in ("200", "202")}
if not_ok or not_ok_half:
    rows.append(("answers other than 200/202", f"peak {not_ok or '-'}, half {not_ok_half or '-'}"))
metrics = {}
for line in open(f"{out}/load-metrics-peak.txt", errors="replace"):
    parts = line.split()
    if len(parts) == 2 and not line.startswith("#"):
        try:
            metrics[parts[0]] = float(parts[1])
        except ValueError:
            pass
commits = metrics.get("dxhub_store_commit_seconds_count", 0)
group_commit = None
if commits:
    group_commit = {"commits": commits,
                    "mean_batch": metrics.get("dxhub_store_commit_batch_sum", 0) / commits,
                    "mean_commit_ms": 1000 * metrics.get("dxhub_store_commit_seconds_sum", 0) / commits,
                    "busy_fraction": metrics.get("dxhub_store_commit_seconds_sum", 0) / p["interval_s"]}
    rows.append(("hub group commits during peak", "{commits:.0f}, mean batch {mean_batch:.1f}, "
                 "mean {mean_commit_ms:.1f} ms, writer busy {busy_fraction:.0%}".format(**group_commit)))
    rows.append(("  fsync ceiling of this disk", f"{fsyncs:.0f} commits/s (p99 {fsync_p99_ms:.2f} ms); at batch "
                 f"{group_commit['mean_batch']:.1f} that bounds receipts near "
                 f"{fsyncs * group_commit['mean_batch']:.0f}/s"))
for name, run in (("peak", p), ("half load", c)):
    if run.get("pool_exhausted"):
        rows.append(("note", f"{name}: the pre-signed pool ({run['presigned']}) ran out after {run['interval_s']:.1f} s"))
print()
print(f"{'dxhub under load (this machine, this run)':44} {'figure'}")
for name, value in rows:
    print(f"{name:44} {value}")
result = {
    "cores": cores,
    "openssl_speed": speed,
    "signature_ceiling_per_s": ceiling,
    "healthz_per_s": healthz,
    "peak_receipted_per_s": peak,
    "ratio_to_signature_ceiling": peak / ceiling,
    "ratio_to_healthz": peak / healthz,
    "sig_bound_per_s": bound,
    "sig_bound_ratio_to_signature_ceiling": bound / ceiling,
    "ratio_to_sig_bound": peak / bound,
    "peak_latency_ms": p["latency_ms"],
    "half_load": {"target_rate": c["target_rate"], "receipted_per_s": c["receipted_per_s"],
                  "latency_ms": c["latency_ms"], "latency_from": c["latency_from"],
                  "sig_bound_latency_ms": bh["latency_ms"]},
    "hub_rss_kib": {"max_vmrss_during_peak": rss_kb, "vmhwm_after_peak": hwm_kb},
    "group_commit_during_peak": group_commit,
    "fsync_per_s": fsyncs,
    "fsync_p99_ms": fsync_p99_ms,
    "runs": {"healthz": h, "peak": p, "half": c, "sig_bound": b, "sig_bound_half": bh},
}
json.dump(result, open(f"{out}/hub.json", "w"), indent=2)
print(f"figures written to {out}/hub.json")
PY
