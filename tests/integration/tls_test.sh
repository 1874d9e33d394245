#!/usr/bin/env bash
# The hub's TLS face, checked with the openssl command line against a real `dxhub serve`:
# TLS 1.1 refused, TLS 1.2 and 1.3 with a client certificate resume their sessions (banks'
# clients resume by default), TLS 1.2 renegotiation refused, and /healthz answers without a
# client certificate.
set -euo pipefail
build=${DX_BUILD:-build}
pki="$build/test-pki"
flock "$pki.lock" certs/make-dev-pki.sh "$pki" >/dev/null
tmp=$(mktemp -d)
hub=
cleanup() {
  [[ -n "$hub" ]] && kill "$hub" 2>/dev/null && wait "$hub" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 tests/integration/test_config.py "$pki" "$tmp"
"$build/dxhub" serve --config "$tmp/dxhub.json" --listen "127.0.0.1:$port" 2>"$tmp/hub.log" &
hub=$!
for _ in $(seq 100); do
  curl -sf --cacert "$pki/ca.crt" "https://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

passed=0 failed=0
check() {
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; passed=$((passed + 1)); else echo "FAIL $what"; failed=$((failed + 1)); fi
}
client() {  # client VERSION [extra s_client args]
  local version=$1
  shift
  # stdin stays open a moment, so a TLS 1.3 session ticket (sent after the handshake) arrives
  # before the client leaves.
  (sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$port" "$version" \
    -CAfile "$pki/ca.crt" -cert "$pki/cc.samastipur.crt" -key "$pki/cc.samastipur.key" "$@" 2>&1 ||
    true
}

check "/healthz answers without a client certificate" \
  curl -sf --cacert "$pki/ca.crt" "https://127.0.0.1:$port/healthz" -o /dev/null
# SECLEVEL=0 lets this client offer TLS 1.1, so the refusal is the hub's own.
check "TLS 1.1 is refused by the hub" bash -c "echo | timeout 10 openssl s_client -connect 127.0.0.1:$port \
  -tls1_1 -cipher DEFAULT@SECLEVEL=0 2>&1 | grep -q 'alert protocol version'"
for version in -tls1_2 -tls1_3; do
  client "$version" -sess_out "$tmp/session$version" >"$tmp/first$version"
  check "$version handshake with a client certificate verifies the hub" grep -q "Verify return code: 0" "$tmp/first$version"
  client "$version" -sess_in "$tmp/session$version" >"$tmp/second$version"
  check "$version session with a client certificate is resumed" grep -q "^Reused," "$tmp/second$version"
done
# The hub works out a connection's client once (http_connection.h: connectionClient): a TLS 1.2
# client may not renegotiate, which could bring another certificate into the connection.
check "TLS 1.2 renegotiation is refused" bash -c "(printf 'R\\n'; sleep 1) | timeout 10 openssl s_client \
  -connect 127.0.0.1:$port -tls1_2 -CAfile $pki/ca.crt -cert $pki/cc.samastipur.crt \
  -key $pki/cc.samastipur.key 2>&1 | grep -q 'no renegotiation'"
check "a resumed session still identifies the client (GET /v1/inbox 200)" bash -c \
  "curl -sf --cacert $pki/ca.crt --cert $pki/cc.samastipur.crt --key $pki/cc.samastipur.key \
   https://127.0.0.1:$port/v1/inbox -o /dev/null"
echo "$passed passed, $failed failed"
((failed == 0))
