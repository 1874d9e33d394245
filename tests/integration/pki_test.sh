#!/usr/bin/env bash
# Proves certs/make-dev-pki.sh makes the development PKI of DESIGN.md section 7 from the
# default config: the files, their modes and formats, the chain, revocation, expiry, the
# foreign CA, names and key types, idempotent re-runs, --force, and clear errors.
# Run from the repository root: bash tests/integration/pki_test.sh
set -uo pipefail

readonly SCRIPT=certs/make-dev-pki.sh
readonly CONFIG=config/dxhub.json
readonly HUB=hub.samastipur
# The participants DESIGN section 7 requires of the default config.
readonly REQUIRED_IDS=(cc.samastipur sp.samastipur dm.samastipur bank.sbi bank.pnb bank.hdfc
  ps.samastipur.nagar ps.samastipur.mufassil ps.samastipur.kalyanpur
  ps.samastipur.dalsinghsarai ps.samastipur.rosera)

if [[ ! -f $SCRIPT || ! -f $CONFIG ]]; then
  echo "FAIL: run from the repository root ($SCRIPT and $CONFIG not found in $PWD)"
  exit 1
fi
python=/usr/bin/python3
[[ -x $python ]] || python=python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dxhub-pki-test.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf -- "$tmp"' EXIT
pki=$tmp/pki
failures=0
checks=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  checks=$((checks + 1))
  "$@" >/dev/null 2>&1 || fail "$what"
}
check_not() { # check_not DESCRIPTION COMMAND...: the command must fail
  local what=$1
  shift
  checks=$((checks + 1))
  ! "$@" >/dev/null 2>&1 || fail "$what"
}

# run_script ARGS...: runs the script, leaving its stdout, stderr and status in globals.
run_script() {
  bash "$SCRIPT" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# hashes DIR: "sha256  path" of every key and certificate under DIR, sorted.
hashes() {
  (cd "$1" && find . -name '*.key' -o -name '*.crt' | LC_ALL=C sort | xargs sha256sum)
}
key_hashes() {
  (cd "$1" && find . -name '*.key' | LC_ALL=C sort | xargs sha256sum)
}

key_kind() { # ed25519, p256 or "other: <first line>"
  local text
  text=$(openssl pkey -in "$1" -noout -text 2>&1) || { echo "unreadable"; return; }
  case $text in
    "ED25519 Private-Key:"*) echo ed25519 ;;
    *"NIST CURVE: P-256"*) echo p256 ;;
    *) echo "other: ${text%%$'\n'*}" ;;
  esac
}
subject_of() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
# The SAN's URIs, one a line.
san_uris() {
  openssl x509 -in "$1" -noout -ext subjectAltName | tr ',' '\n' |
    sed -n 's/^[[:space:]]*URI://p'
}
verify_out() { openssl verify -CAfile "$pki/ca.crt" -crl_check -CRLfile "$pki/ca.crl" "$1" 2>&1; }
verify_out_many() { openssl verify -CAfile "$pki/ca.crt" -crl_check -CRLfile "$pki/ca.crl" "$@" 2>&1; }
validity_days() {
  local nb na
  nb=$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)
  na=$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)
  echo $((($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)) / 86400))
}

# ------------------------------------------------------------ first run
run_script --config "$CONFIG" "$pki"
if ((rc != 0)); then
  echo "FAIL: $SCRIPT exited $rc; stderr:"
  cat "$tmp/err"
  exit 1
fi
first_out=$(cat "$tmp/out")
check "the last line says where the PKI is" grep -q "$pki" <<<"$(tail -n 1 "$tmp/out")"
check "nothing on stderr on a clean run" test ! -s "$tmp/err"

mapfile -t ids < <("$python" -c '
import json, sys
for p in json.load(open(sys.argv[1]))["participants"]:
    print(p["id"])' "$CONFIG")
((${#ids[@]} > 0)) || fail "no participants read from $CONFIG"
for id in "${REQUIRED_IDS[@]}"; do
  printf '%s\n' "${ids[@]}" | grep -qxF "$id" || fail "$CONFIG lacks participant $id"
done
check "$CONFIG has hub.id $HUB" "$python" -c '
import json, sys
sys.exit(json.load(open(sys.argv[1]))["hub"]["id"] != sys.argv[2])' "$CONFIG" "$HUB"

# ------------------------------------------------------------ files, modes, formats
check "DIR is mode 700" test "$(stat -c %a "$pki")" = 700
for f in ca.crt ca.key ca.crl "$HUB.crt" "$HUB.key" test/revoked.crt test/revoked.key \
  test/expired.crt test/expired.key test/foreign-ca.crt test/foreign-ca.key \
  test/foreign.crt test/foreign.key; do
  check "$f exists" test -s "$pki/$f"
done
for id in "${ids[@]}"; do
  check "$id.crt exists" test -s "$pki/$id.crt"
  check "$id.key exists" test -s "$pki/$id.key"
  grep -qF "created $pki/$id.key" <<<"$first_out" || fail "no 'created' line for $id.key"
done
while IFS= read -r key; do
  rel=${key#"$pki"/}
  mode=$(stat -c %a "$key")
  [[ $mode == 600 ]] || fail "$rel has mode $mode, want 600"
  [[ $(head -n 1 "$key") == "-----BEGIN ""PRIVATE KEY-----" ]] || fail "$rel is not PEM PKCS#8"  # split: no key-shaped line in git
  checks=$((checks + 2))
done < <(find "$pki" -name '*.key')
check "ca.crl is a PEM CRL" grep -q -- '-----BEGIN X509 CRL-----' "$pki/ca.crl"
check "ca.crl is signed by the CA" openssl crl -in "$pki/ca.crl" -CAfile "$pki/ca.crt" -noout

# ------------------------------------------------------------ the CA
check "CA subject" test "$(subject_of "$pki/ca.crt")" = "CN=dxhub Samastipur development CA"
ca_ext=$(openssl x509 -in "$pki/ca.crt" -noout -ext basicConstraints,keyUsage)
check "CA basicConstraints critical CA:TRUE" grep -qz 'Basic Constraints: critical.*CA:TRUE' <<<"$ca_ext"
check "CA keyUsage keyCertSign,cRLSign" grep -q 'Certificate Sign, CRL Sign' <<<"$ca_ext"
check "CA key is P-256" test "$(key_kind "$pki/ca.key")" = p256
ca_days=$(validity_days "$pki/ca.crt")
((ca_days >= 3650 && ca_days <= 3653)) || fail "CA is valid $ca_days days, want 10 years"
next_year=$(date -u -d "$(openssl crl -in "$pki/ca.crl" -noout -nextupdate | cut -d= -f2)" +%Y)
((next_year >= $(date -u +%Y) + 9)) || fail "CRL nextUpdate is in $next_year, want 10 years ahead"

# ------------------------------------------------------------ every leaf
# One openssl call per certificate and one per key keep the test fast.
leaves=("$HUB" "${ids[@]}")
files=()
for id in "${leaves[@]}"; do files+=("$pki/$id.crt"); done
verified=$(verify_out_many "${files[@]}")
serials=()
for id in "${leaves[@]}"; do
  crt=$pki/$id.crt
  grep -qxF "$crt: OK" <<<"$verified" ||
    fail "$id.crt does not verify against ca.crt with the CRL: $(grep -F "$crt" <<<"$verified")"
  info=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 -serial -startdate -enddate \
    -ext subjectAltName,basicConstraints,keyUsage,extendedKeyUsage -pubkey)
  subj=$(sed -n 's/^subject=//p' <<<"$info")
  [[ $subj == "CN=$id" ]] || fail "$id.crt subject is '$subj', want CN=$id"
  san=$(grep -A1 'Subject Alternative Name' <<<"$info" | tail -n 1 | sed 's/^[[:space:]]*//')
  want="URI:urn:dx:participant:$id, DNS:localhost, IP Address:127.0.0.1"
  [[ $san == "$want" ]] || fail "$id.crt SAN is '$san', want '$want'"
  grep -A1 'Basic Constraints' <<<"$info" | grep -q 'CA:FALSE' || fail "$id.crt is not CA:FALSE"
  grep -A1 'Key Usage: critical' <<<"$info" | grep -qx '[[:space:]]*Digital Signature' ||
    fail "$id.crt keyUsage is not critical digitalSignature"
  grep -q 'TLS Web Server Authentication, TLS Web Client Authentication' <<<"$info" ||
    fail "$id.crt extendedKeyUsage is not serverAuth,clientAuth"
  nb=$(sed -n 's/^notBefore=//p' <<<"$info")
  na=$(sed -n 's/^notAfter=//p' <<<"$info")
  days=$((($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)) / 86400))
  ((days == 825)) || fail "$id.crt is valid $days days, want 825"
  key=$(openssl pkey -in "$pki/$id.key" -pubout -text_pub)
  [[ $(sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' <<<"$info") == \
    "$(sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' <<<"$key")" ]] ||
    fail "$id.crt does not hold the public key of $id.key"
  if [[ $id == "$HUB" || $id == bank.hdfc ]]; then
    grep -q 'NIST CURVE: P-256' <<<"$key" || fail "$id.key is not EC P-256"
  else
    grep -q '^ED25519 Public-Key:' <<<"$key" || fail "$id.key is not Ed25519"
  fi
  serials+=("$(sed -n 's/^serial=//p' <<<"$info")")
  checks=$((checks + 9))
done
for t in revoked expired; do
  serials+=("$(openssl x509 -in "$pki/test/$t.crt" -noout -serial)")
done
dups=$(printf '%s\n' "${serials[@]}" | sort | uniq -d)
[[ -z $dups ]] || fail "serial numbers repeat: $dups"

# Key types: the hub and bank.hdfc P-256, every other participant Ed25519.
check "bank.hdfc key is EC P-256" test "$(key_kind "$pki/bank.hdfc.key")" = p256
check "bank.sbi key is ED25519" test "$(key_kind "$pki/bank.sbi.key")" = ed25519
check "hub key is EC P-256" test "$(key_kind "$pki/$HUB.key")" = p256
check "bank.hdfc certificate holds a P-256 key" \
  grep -q 'NIST CURVE: P-256' <<<"$(openssl x509 -in "$pki/bank.hdfc.crt" -noout -text)"
check "bank.sbi certificate holds an Ed25519 key" \
  grep -q 'Public Key Algorithm: ED25519' <<<"$(openssl x509 -in "$pki/bank.sbi.crt" -noout -text)"

# cc.samastipur's names, exactly.
check "cc.samastipur SAN URI is exactly urn:dx:participant:cc.samastipur" \
  test "$(san_uris "$pki/cc.samastipur.crt")" = "urn:dx:participant:cc.samastipur"
check "cc.samastipur CN is cc.samastipur" \
  test "$(subject_of "$pki/cc.samastipur.crt")" = "CN=cc.samastipur"

# ------------------------------------------------------------ test certificates
for t in revoked expired foreign; do
  crt=$pki/test/$t.crt
  check "test/$t.crt is for cc.samastipur (CN)" test "$(subject_of "$crt")" = "CN=cc.samastipur"
  check "test/$t.crt is for cc.samastipur (SAN)" \
    test "$(san_uris "$crt")" = "urn:dx:participant:cc.samastipur"
  check "test/$t.key is Ed25519" test "$(key_kind "$pki/test/$t.key")" = ed25519
done
out=$(verify_out "$pki/test/revoked.crt")
grep -q 'certificate revoked' <<<"$out" || fail "test/revoked.crt is not refused as revoked: $out"
check "test/revoked.crt is otherwise valid (verifies without the CRL)" \
  openssl verify -CAfile "$pki/ca.crt" "$pki/test/revoked.crt"
out=$(verify_out "$pki/test/expired.crt")
grep -q 'certificate has expired' <<<"$out" || fail "test/expired.crt is not refused as expired: $out"
check "test/expired.crt is otherwise valid (verifies ignoring time)" \
  openssl verify -CAfile "$pki/ca.crt" -crl_check -CRLfile "$pki/ca.crl" -no_check_time \
  "$pki/test/expired.crt"
check "test/expired.crt notBefore 2020-01-01" \
  test "$(openssl x509 -in "$pki/test/expired.crt" -noout -startdate)" = "notBefore=Jan  1 00:00:00 2020 GMT"
check "test/expired.crt notAfter 2020-01-02" \
  test "$(openssl x509 -in "$pki/test/expired.crt" -noout -enddate)" = "notAfter=Jan  2 00:00:00 2020 GMT"
check_not "test/foreign.crt must fail against ca.crt" \
  openssl verify -CAfile "$pki/ca.crt" "$pki/test/foreign.crt"
check "test/foreign.crt verifies against its own foreign CA" \
  openssl verify -CAfile "$pki/test/foreign-ca.crt" "$pki/test/foreign.crt"
check_not "test/foreign-ca.crt must differ from ca.crt" cmp -s "$pki/ca.crt" "$pki/test/foreign-ca.crt"

# ------------------------------------------------------------ idempotent re-run
hashes "$pki" >"$tmp/before"
key_hashes "$pki" >"$tmp/keys-before"
run_script --config "$CONFIG" "$pki"
if ((rc != 0)); then
  fail "re-run exited $rc: $(cat "$tmp/err")"
else
  hashes "$pki" >"$tmp/after"
  cmp -s "$tmp/before" "$tmp/after" || fail "re-run without --force changed keys or certificates:
$(diff "$tmp/before" "$tmp/after")"
  ! grep -q '^created' "$tmp/out" || fail "re-run created files: $(grep '^created' "$tmp/out")"
fi

# A participant added to the config later gets its files; the others stay as they are.
"$python" -c '
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["participants"].append({"id": "ps.samastipur.pusa", "role": "station", "name": "Pusa"})
json.dump(cfg, open(sys.argv[2], "w"), ensure_ascii=False)' "$CONFIG" "$tmp/more.json"
run_script --config "$tmp/more.json" "$pki"
if ((rc != 0)); then
  fail "run with an added participant exited $rc: $(cat "$tmp/err")"
else
  created=$(grep '^created' "$tmp/out" | LC_ALL=C sort | tr '\n' ' ')
  want="created $pki/ps.samastipur.pusa.crt created $pki/ps.samastipur.pusa.key "
  [[ $created == "$want" ]] || fail "adding a participant created '$created', want '$want'"
  hashes "$pki" | grep -v 'ps\.samastipur\.pusa\.' >"$tmp/after"
  cmp -s "$tmp/before" "$tmp/after" || fail "adding a participant changed existing files"
  out=$(verify_out "$pki/ps.samastipur.pusa.crt")
  [[ $out == *": OK" ]] || fail "the added participant's certificate does not verify: $out"
fi

# ------------------------------------------------------------ --force
run_script --force --config "$CONFIG" "$pki"
if ((rc != 0)); then
  fail "--force exited $rc: $(cat "$tmp/err")"
else
  key_hashes "$pki" >"$tmp/keys-after"
  # Every key must be new: no hash of before may appear after.
  same=$(cut -d' ' -f1 "$tmp/keys-before" | grep -xFf - <(cut -d' ' -f1 "$tmp/keys-after"))
  [[ -z $same ]] || fail "--force kept keys: $same"
  check "--force removed the participant no longer in the config" \
    test ! -e "$pki/ps.samastipur.pusa.key"
  out=$(verify_out "$pki/cc.samastipur.crt")
  [[ $out == *": OK" ]] || fail "after --force cc.samastipur.crt does not verify: $out"
  out=$(verify_out "$pki/test/revoked.crt")
  grep -q 'certificate revoked' <<<"$out" || fail "after --force the new CRL lacks test/revoked.crt"
fi

# ------------------------------------------------------------ errors
run_script --config "$tmp/no-such.json" "$tmp/pki-missing-config"
checks=$((checks + 3))
((rc != 0)) || fail "a missing config file exited 0"
lines=$(wc -l <"$tmp/err")
((lines == 1)) || fail "a missing config file printed $lines lines on stderr, want 1: $(cat "$tmp/err")"
[[ ! -e $tmp/pki-missing-config ]] || fail "a missing config file still created DIR"

printf '{"hub": {"id": "hub.samastipur"}, "participants": [' >"$tmp/bad.json"
run_script --config "$tmp/bad.json" "$tmp/pki-bad"
((rc != 0)) || fail "a config that is not JSON exited 0"
lines=$(wc -l <"$tmp/err")
((lines == 1)) || fail "a config that is not JSON printed $lines lines on stderr, want 1"

echo '{"hub": {"id": "hub.samastipur"}, "participants": [{"id": "../evil", "role": "bank"}]}' \
  >"$tmp/evil.json"
run_script --config "$tmp/evil.json" "$tmp/pki-evil"
((rc != 0)) || fail "a participant id with '/' was accepted"

# --force never empties a folder the script did not make.
mkdir "$tmp/precious" && echo keep >"$tmp/precious/notes.txt"
run_script --force --config "$CONFIG" "$tmp/precious"
((rc != 0)) || fail "--force on a folder that is not a dev PKI exited 0"
check "--force left a foreign folder alone" test -f "$tmp/precious/notes.txt"

run_script --help
((rc == 0)) || fail "--help exited $rc"
check "--help prints usage" grep -q '^Usage: certs/make-dev-pki.sh' "$tmp/out"
run_script --bogus
((rc != 0)) || fail "an unknown option exited 0"

if ((failures > 0)); then
  echo "pki_test: $failures of $checks checks FAILED"
  exit 1
fi
echo "pki_test: all $checks checks passed"
