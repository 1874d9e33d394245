#!/usr/bin/env bash
# dxhub's JWS against a standard JOSE library, both ways (see jose_interop.py).
set -euo pipefail
build=${DX_BUILD:-build}
pki="$build/test-pki"
flock "$pki.lock" certs/make-dev-pki.sh "$pki" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s|var/pki|$pki|g" -e "s|sqlite:var/dxhub.db|sqlite:$tmp/dxhub.db|" config/dxhub.json >"$tmp/dxhub.json"
/usr/bin/python3 tests/integration/jose_interop.py "$build" "$pki" "$tmp/dxhub.json"
