#!/usr/bin/env bash
# dxhub's JWS against a standard JOSE library, both ways (see jose_interop.py).
set -euo pipefail
build=${DX_BUILD:-build}
pki="$build/test-pki"
flock "$pki.lock" certs/make-dev-pki.sh "$pki" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/integration/test_config.py "$pki" "$tmp"
/usr/bin/python3 tests/integration/jose_interop.py "$build" "$pki" "$tmp/dxhub.json"
