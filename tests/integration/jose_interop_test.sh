#!/usr/bin/env bash
# dxhub's JWS against a standard JOSE library, both ways (see jose_interop.py).
set -euo pipefail
build=${DX_BUILD:-build}
pki="$build/test-pki"
flock "$pki.lock" certs/make-dev-pki.sh "$pki" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The default config with the test PKI, a fresh database and no connectors (not what is tested).
/usr/bin/python3 - "$pki" "$tmp" <<'PY'
import json, sys
pki, tmp = sys.argv[1:3]
config = json.load(open("config/dxhub.json"))
config["pki"] = {"dir": pki, "ca": pki + "/ca.crt", "crl": pki + "/ca.crl"}
config["store"] = {"url": "sqlite:" + tmp + "/dxhub.db"}
config["plugins"] = []
json.dump(config, open(tmp + "/dxhub.json", "w"))
PY
/usr/bin/python3 tests/integration/jose_interop.py "$build" "$pki" "$tmp/dxhub.json"
