#!/usr/bin/env bash
# Draws the README's sample cyber-crime graph from realistic simulated data, the way a district
# would get it: dx-sim-station writes five stations' record exports (May to October 2026), the
# station_records connector of a real `dxhub serve` on loopback signs and files them, and the
# hub draws the graph from what it stored. The SP office's awareness notice for October is
# drafted from the same store. Everything runs in a temporary folder, removed afterwards.
#
# usage: scripts/draw-sample-graph.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, docs)
#   writes OUT_DIR/cyber-crime-graph.svg and OUT_DIR/awareness-notice-2026-10.json
set -euo pipefail

build=${1:-build}
out=${2:-docs}
readonly FROM=2026-05 TO=2026-10
readonly PY=/usr/bin/python3  # Debian's own (see STACK-NOTES: another python3 may come first)
# Stations and how many cases each export holds (town stations see more cyber fraud).
readonly STATIONS="ps.samastipur.nagar:64 ps.samastipur.mufassil:41 ps.samastipur.kalyanpur:27
  ps.samastipur.dalsinghsarai:36 ps.samastipur.rosera:48"

work=$(mktemp -d)
hub_pid=
cleanup() {
  [[ -n $hub_pid ]] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

certs/make-dev-pki.sh "$work/pki" >/dev/null
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The default config with this PKI, a fresh database and only the station connector.
"$PY" - "$work" "$port" "$build" <<'PYEOF'
import json, sys
work, port, build = sys.argv[1:4]
c = json.load(open("config/dxhub.json"))
c["hub"]["listen"] = "127.0.0.1:" + port
c["pki"] = {"dir": work + "/pki", "ca": work + "/pki/ca.crt", "crl": work + "/pki/ca.crl"}
c["store"] = {"url": "sqlite:" + work + "/dxhub.db"}
stations = [p for p in c["plugins"] if p["name"] == "station_records"][0]
stations["library"] = build + "/plugins/libdx_station_records.so"
cfg = stations["config"]
cfg["stations"] = [{"id": s["id"], "inbox_dir": work + "/inbox/" + s["id"]} for s in cfg["stations"]]
cfg["state_dir"] = work + "/state"
cfg["poll_ms"] = 200
c["plugins"] = [stations]
json.dump(c, open(work + "/dxhub.json", "w"), ensure_ascii=False, indent=1)
PYEOF

"$build/dxhub" serve --config "$work/dxhub.json" >"$work/hub.log" 2>&1 &
hub_pid=$!

expected=0
seed=11
for entry in $STATIONS; do
  id=${entry%%:*}
  rows=${entry##*:}
  "$build/dx-sim-station" --out "$work/inbox/$id" --station "$id" --rows "$rows" \
    --months "$FROM..$TO" --seed "$seed" >/dev/null
  expected=$((expected + rows))
  seed=$((seed + 1))
done

api() {
  curl -sS --fail --cacert "$work/pki/ca.crt" --cert "$work/pki/sp.samastipur.crt" \
    --key "$work/pki/sp.samastipur.key" "https://127.0.0.1:$port/v1/reports/cyber-crime?$1"
}
# Wait until the hub has every record (the connector files them as it finds them).
cases=0
for _ in $(seq 1 300); do
  cases=$(api "from=$FROM&to=$TO" 2>/dev/null |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"]["cases"])' 2>/dev/null) || cases=0
  [[ $cases == "$expected" ]] && break
  sleep 0.2
done
if [[ $cases != "$expected" ]]; then
  echo "draw-sample-graph: the hub holds $cases of $expected records; its log:" >&2
  tail -20 "$work/hub.log" >&2
  exit 1
fi

mkdir -p "$out"
api "from=$FROM&to=$TO&format=svg" >"$out/cyber-crime-graph.svg"
"$build/dxhub" notice draft --config "$work/dxhub.json" --period "$TO" \
  --out "$out/awareness-notice-$TO.json"
echo "drew $out/cyber-crime-graph.svg from $expected station records ($FROM to $TO)"
