#!/usr/bin/env bash
# make bench, the store back ends and scale-out: receipted msgs/s, in one run, for
#   (1) one hub instance on SQLite,
#   (2) one hub instance on PostgreSQL,
#   (3) two hub instances on one PostgreSQL database, the client's connections spread over both;
# each a closed loop of pre-signed freeze.requests at 32 connections for 8 s (ingress only: no
# connector), with the machine's own ceilings measured in the same run (the signature ceiling
# from `openssl speed`, the disk's fsyncs/s). Runs under scripts/with-postgres.sh (its own
# PostgreSQL 15, stopped afterwards); `make bench` does that. Writes var/bench/scale_out.json.
#   scripts/with-postgres.sh bench/scale_out.sh [BUILD_DIR]
# Traffic goes to 127.0.0.1 only; every hub it starts is stopped.
set -euo pipefail

readonly PROG=bench/scale_out.sh
readonly PY=/usr/bin/python3
readonly CONNECTIONS=32
readonly SECONDS_EACH=8
readonly PRESIGN_SECONDS=6

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}
build=${1:-build}
[[ $build = /* ]] || build=$PWD/$build
cd "$(dirname "$0")/.."
out=var/bench
pki=$out/pki
mkdir -p "$out"
[[ -x $build/dxhub && -x $build/dx_load ]] || die "$build/dxhub or dx_load missing: run 'make build'"
[[ -n ${DX_TEST_PG_URL:-} ]] || die "no PostgreSQL: run me as scripts/with-postgres.sh $PROG"
certs/make-dev-pki.sh "$pki" >/dev/null

hubs=()
stop_hubs() {
  for pid in "${hubs[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${hubs[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  hubs=()
}
trap stop_hubs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_config FILE STORE_URL: the default config on the bench PKI, ingress only.
write_config() {
  "$PY" - config/dxhub.json "$1" "$pki" "$2" <<'PY'
import json, sys
src, dst, pki, url = sys.argv[1:]
c = json.load(open(src))
old = c["pki"]["dir"].rstrip("/")
c["pki"] = {"dir": pki, "ca": f"{pki}/ca.crt", "crl": f"{pki}/ca.crl"}
c["store"] = {"url": url}
for p in c.get("participants", []):
    if "certs" in p:
        p["certs"] = [pki + x[len(old):] if x.startswith(old + "/") else x for x in p["certs"]]
c["plugins"] = []
json.dump(c, open(dst, "w"), indent=2, ensure_ascii=False)
PY
}

# run NAME STORE_URL INSTANCES: starts the instances, loads them, stops them.
run() {
  local name=$1 url=$2 n=$3 config=$out/scale-$1.json urls=() port
  write_config "$config" "$url"
  for i in $(seq "$n"); do
    port=$(free_port)
    "$build/dxhub" serve --config "$config" --listen "127.0.0.1:$port" >"$out/scale-$name-$i.log" 2>&1 &
    hubs+=($!)
    urls+=(--url "https://127.0.0.1:$port")
    local up=0
    for _ in $(seq 150); do
      if curl -sf --max-time 1 --cacert "$pki/ca.crt" "https://127.0.0.1:$port/healthz" >/dev/null; then
        up=1
        break
      fi
      sleep 0.1
    done
    ((up)) || { tail -n 20 "$out/scale-$name-$i.log" >&2; die "$name: instance $i did not come up"; }
  done
  echo "== $name: $n instance(s), $CONNECTIONS connections, closed loop, ${SECONDS_EACH} s"
  timeout 90 "$build/dx_load" "${urls[@]}" --ca "$pki/ca.crt" --cert "$pki/cc.samastipur.crt" \
    --key "$pki/cc.samastipur.key" --connections "$CONNECTIONS" --duration "$SECONDS_EACH" \
    --presign-seconds "$PRESIGN_SECONDS" --quiet --json "$out/scale-$name.json" ||
    die "$name: the load failed (see $out/scale-$name-*.log)"
  stop_hubs
}

pg_database() {  # a fresh database on the server; prints its URL
  local db=dxbench_$1
  psql -q "$DX_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  echo "${DX_TEST_PG_URL%/*}/$db"
}

echo "== openssl speed -seconds 2 ed25519 ecdsap256, fsync probe (this machine's ceilings, now)"
openssl speed -seconds 2 ed25519 ecdsap256 2>/dev/null >"$out/scale-openssl-speed.txt" || die "openssl speed failed"
rm -f "$out/scale.db" "$out/scale.db-wal" "$out/scale.db-shm"
run sqlite "sqlite:$out/scale.db" 1
run pg1 "$(pg_database one)" 1
run pg2 "$(pg_database two)" 2

"$PY" - "$out" "$(nproc)" <<'PY'
import json, os, re, sys, time
out, cores = sys.argv[1], int(sys.argv[2])
rates = {}
for line in open(f"{out}/scale-openssl-speed.txt"):
    m = re.search(r"\((nistp256|Ed25519)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        rates[m.group(1)] = (float(m.group(2)), float(m.group(3)))
ceiling = cores / (1 / rates["Ed25519"][1] + 1 / rates["nistp256"][0])
path = os.path.join(out, "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t = time.perf_counter()
for _ in range(200):
    os.write(fd, b"x" * 4096)
    os.fsync(fd)
fsyncs = 200 / (time.perf_counter() - t)
os.close(fd)
os.unlink(path)
runs = {n: json.load(open(f"{out}/scale-{n}.json")) for n in ("sqlite", "pg1", "pg2")}
print(f"\n{'store back end, instances':36} {'receipted/s':>12} {'ratio to ceiling':>17} {'p99 ms':>8}")
names = {"sqlite": "SQLite, 1 instance", "pg1": "PostgreSQL, 1 instance", "pg2": "PostgreSQL, 2 instances"}
for n, r in runs.items():
    other = {k: v for k, v in r["by_status"].items() if k not in ("200", "202")}
    print(f"{names[n]:36} {r['receipted_per_s']:12.0f} {r['receipted_per_s'] / ceiling:17.2f} "
          f"{r['latency_ms']['p99']:8.1f}" + (f"  other answers: {other}" if other else ""))
print(f"signature ceiling {ceiling:.0f} msgs/s ({cores} cores); disk {fsyncs:.0f} fsyncs/s")
json.dump({"cores": cores, "signature_ceiling_per_s": ceiling, "fsync_per_s": fsyncs,
           "receipted_per_s": {n: r["receipted_per_s"] for n, r in runs.items()},
           "ratio_to_signature_ceiling": {n: r["receipted_per_s"] / ceiling for n, r in runs.items()},
           "latency_ms": {n: r["latency_ms"] for n, r in runs.items()},
           "runs": runs}, open(f"{out}/scale_out.json", "w"), indent=2)
print(f"figures written to {out}/scale_out.json")
PY
