#!/usr/bin/env bash
# Makes the development PKI of dxhub (DESIGN.md section 7): a root CA, the hub's own
# certificate, one certificate per participant of the config, test certificates (revoked,
# expired, foreign) and a CRL. For development and tests only: never use these keys for real.
set -euo pipefail

readonly PROG=make-dev-pki.sh
readonly CA_CN="dxhub Samastipur development CA"
readonly FOREIGN_CA_CN="dxhub foreign test CA (not trusted by the hub)"
readonly TEST_ID="cc.samastipur"   # participant the test certificates are issued to
readonly CA_DAYS=3650
readonly LEAF_DAYS=825
readonly CRL_DAYS=3650
# First line of the openssl config this script writes; it also marks DIR as ours, so that
# --force never empties a folder this script did not make.
readonly CNF_MARK="# dxhub development PKI: written by certs/make-dev-pki.sh"

usage() {
  cat <<EOF
Usage: certs/make-dev-pki.sh [--force] [--config FILE] [DIR]

Makes a development PKI for dxhub in DIR (default: var/pki):
  DIR/ca.crt, ca.key         root CA "$CA_CN" (P-256)
  DIR/ca.crl                 its CRL (lists test/revoked.crt)
  DIR/<hub id>.crt, .key     the hub's own certificate (P-256)
  DIR/<id>.crt, .key         one per participant of the config (Ed25519, or P-256 if the
                             participant has "key_type": "p256")
  DIR/test/                  revoked, expired and foreign certificates for tests
Keys are PEM PKCS#8, mode 0600; DIR is mode 0700.

Running it again keeps every existing key and certificate and makes only what is missing
(a participant added to the config gets its files).

Options:
  --config FILE   config to read hub.id and participants from (default: config/dxhub.json)
  --force         remove DIR's contents first and make everything anew
  -h, --help      show this help
Paths are relative to the working directory.
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

warn() {
  echo "$PROG: warning: $*" >&2
}

# ---------------------------------------------------------------- arguments
force=0
config=config/dxhub.json
dir=
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --force) force=1 ;;
    --config)
      (($# >= 2)) || die "--config needs a FILE (see --help)"
      config=$2
      shift
      ;;
    --config=*) config=${1#--config=} ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      [[ -z $dir ]] || die "only one DIR may be given (see --help)"
      dir=$1
      ;;
  esac
  shift
done
if (($# > 0)); then
  [[ -z $dir && $# -eq 1 ]] || die "only one DIR may be given (see --help)"
  dir=$1
fi
dir=${dir:-var/pki}
[[ -n $config ]] || die "--config needs a FILE (see --help)"

command -v openssl >/dev/null 2>&1 || die "openssl not found; install it (apt-get install openssl)"

# Debian's interpreter by its full path: another python3 may come first on PATH.
if [[ -x /usr/bin/python3 ]]; then
  python=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1; then
  python=$(command -v python3)
else
  die "python3 not found; install it (apt-get install python3)"
fi

# ---------------------------------------------------------------- config
[[ -e $config ]] || die "config file '$config' not found; run from the repository root or pass --config FILE"
[[ -f $config && -r $config ]] || die "config file '$config' is not a readable file"

# Prints "hub<TAB><hub id>", then "<id><TAB><ed25519|p256>" per participant; on a bad config
# one line on stderr and exit status 1.
read_config() {
  "$python" - "$1" "$PROG" <<'PY'
import json, re, sys

path, prog = sys.argv[1], sys.argv[2]
# Lower-case dotted names (DESIGN 4). At least one dot, so an id never collides with the
# CA's own file names; no '/', '=' or ',' so it is safe in paths, subjects and SANs.
ID = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+")

def fail(msg):
    print(f"{prog}: error: {path}: {msg}", file=sys.stderr)
    sys.exit(1)

def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    for k in keys:
        if keys.count(k) > 1:
            raise ValueError(f"duplicate key '{k}'")
    return dict(pairs)

try:
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f, object_pairs_hook=no_duplicate_keys)
except (OSError, UnicodeDecodeError) as e:
    fail(f"cannot read: {e}")
except ValueError as e:
    fail(f"not valid JSON: {e}")

if not isinstance(cfg, dict):
    fail("the top level must be a JSON object")
hub = cfg.get("hub")
if not isinstance(hub, dict) or not isinstance(hub.get("id"), str):
    fail('"hub.id" is missing or not a string')
if not ID.fullmatch(hub["id"]):
    fail(f'"hub.id" {hub["id"]!r} is not a lower-case dotted participant id')
parts = cfg.get("participants")
if not isinstance(parts, list):
    fail('"participants" is missing or not an array')

seen = {hub["id"]}
out = [f"hub\t{hub['id']}"]
for i, p in enumerate(parts):
    where = f"participants[{i}]"
    if not isinstance(p, dict):
        fail(f"{where} is not an object")
    pid = p.get("id")
    if not isinstance(pid, str) or not ID.fullmatch(pid):
        fail(f'{where}: "id" {pid!r} is not a lower-case dotted participant id')
    if not isinstance(p.get("role"), str):
        fail(f'{where} ({pid}): "role" is missing or not a string')
    if pid in seen:
        fail(f"{where}: id '{pid}' appears twice (or is the hub's own id)")
    seen.add(pid)
    kt = p.get("key_type", "ed25519")
    if kt not in ("ed25519", "p256"):
        fail(f'{where} ({pid}): "key_type" must be "ed25519" or "p256", not {kt!r}')
    out.append(f"{pid}\t{kt}")
print("\n".join(out))
PY
}

config_lines=$(read_config "$config") || exit 1
hub_id=
participant_ids=()
participant_types=()
while IFS=$'\t' read -r first second; do
  if [[ $first == hub && -z $hub_id ]]; then
    hub_id=$second
  else
    participant_ids+=("$first")
    participant_types+=("$second")
  fi
done <<<"$config_lines"
[[ -n $hub_id ]] || die "$config: could not read hub.id"

# ---------------------------------------------------------------- DIR
is_ours() { [[ -f $1/openssl.cnf ]] && [[ $(head -n 1 "$1/openssl.cnf") == "$CNF_MARK" ]]; }
is_empty() { [[ -z $(find "$1" -mindepth 1 -maxdepth 1 -print -quit) ]]; }

if [[ -e $dir && ! -d $dir ]]; then
  die "'$dir' exists and is not a folder"
fi
if [[ -d $dir ]] && ! is_empty "$dir" && ! is_ours "$dir"; then
  die "'$dir' is not empty and holds no PKI made by this script; choose another DIR or empty it yourself"
fi
parent=$(dirname -- "$dir")
mkdir -p -- "$parent" || die "cannot create folder '$parent'"
umask 077   # every file from here on is private until chmod says otherwise
mkdir -p -- "$dir" || die "cannot create folder '$dir'"
chmod 700 "$dir"
abs_dir=$(cd -- "$dir" && pwd -P)

# One run at a time per DIR (tests may run in parallel): the openssl ca database is not
# safe for concurrent writers. The lock is on DIR itself, so --force can empty it.
if command -v flock >/dev/null 2>&1; then
  exec 9<"$abs_dir"
  flock -w 120 9 || die "'$dir' is locked by another run of this script for over 2 minutes"
fi
if ((force)) && ! is_empty "$abs_dir"; then
  find "$abs_dir" -mindepth 1 -delete || die "cannot empty '$dir'"
  echo "removed the old contents of $dir (--force)"
fi

# Scratch space inside DIR (not /tmp): CSRs and keys are renamed into place only when
# complete, so an interrupted run never leaves a half-written file behind.
work=$(mktemp -d "$abs_dir/.work.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
log=$work/openssl.log

# The openssl config takes its paths and the SAN's participant id from the environment, so
# the folder can move; every openssl command that reads it needs both variables set.
export DX_PKI_DIR=$abs_dir
export DX_PARTICIPANT_ID=$hub_id

created() { echo "created $1"; }

# openssl_run WHAT ARGS...: runs openssl quietly; on failure one line naming WHAT and the
# last thing openssl said.
openssl_run() {
  local what=$1
  shift
  if ! openssl "$@" >"$log" 2>&1; then
    local last
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 || true)
    die "openssl failed making $what: ${last:-no message}"
  fi
}

write_cnf() {
  cat <<EOF
$CNF_MARK
# The openssl configuration of the dxhub development CA, used with
#   DX_PKI_DIR=<this folder> DX_PARTICIPANT_ID=<id> openssl ca -config openssl.cnf ...
# Never edit by hand: the script rewrites it.

[ ca ]
default_ca = dx_ca

[ dx_ca ]
dir              = \$ENV::DX_PKI_DIR
certificate      = \$dir/ca.crt
private_key      = \$dir/ca.key
database         = \$dir/ca-db/index.txt
new_certs_dir    = \$dir/ca-db/issued
crlnumber        = \$dir/ca-db/crlnumber
rand_serial      = yes
# test/revoked.crt and test/expired.crt share cc.samastipur's subject.
unique_subject   = no
default_md       = sha256
default_days     = $LEAF_DAYS
default_crl_days = $CRL_DAYS
policy           = dx_policy
email_in_dn      = no
copy_extensions  = none
x509_extensions  = dx_leaf
crl_extensions   = dx_crl

[ dx_policy ]
commonName = supplied

[ req ]
distinguished_name = dx_req_dn

[ dx_req_dn ]

[ dx_ca_ext ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ dx_leaf ]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth, clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = URI:urn:dx:participant:\$ENV::DX_PARTICIPANT_ID, DNS:localhost, IP:127.0.0.1

[ dx_crl ]
authorityKeyIdentifier = keyid:always
EOF
}

cnf=$abs_dir/openssl.cnf
write_cnf >"$work/openssl.cnf"
if [[ ! -f $cnf ]]; then
  mv -f -- "$work/openssl.cnf" "$cnf"
  chmod 644 "$cnf"
  created "$dir/openssl.cnf"
elif ! cmp -s "$work/openssl.cnf" "$cnf"; then
  mv -f -- "$work/openssl.cnf" "$cnf"
  chmod 644 "$cnf"
  echo "updated $dir/openssl.cnf"
fi

# ---------------------------------------------------------------- helpers
# new_key FILE TYPE (ed25519|p256): PEM PKCS#8, mode 0600, unless FILE exists.
new_key() {
  local file=$1 type=$2 rel=${1#"$abs_dir"/}
  if [[ -f $file ]]; then
    return 0
  fi
  local tmp=$work/new.key
  case $type in
    ed25519) openssl_run "$rel" genpkey -algorithm ED25519 -out "$tmp" ;;
    p256) openssl_run "$rel" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -pkeyopt ec_param_enc:named_curve -out "$tmp" ;;
    *) die "internal: unknown key type '$type'" ;;
  esac
  chmod 600 "$tmp"
  mv -f -- "$tmp" "$file"
  created "$dir/$rel"
}

# key_type_of FILE: ed25519, p256 or other.
key_type_of() {
  local text
  text=$(openssl pkey -in "$1" -noout -text 2>/dev/null) || { echo other; return 0; }
  case $text in
    "ED25519 Private-Key:"*) echo ed25519 ;;
    *"NIST CURVE: P-256"*) echo p256 ;;
    *) echo other ;;
  esac
}

# check_pair BASE: a certificate without its key is unusable and cannot be remade safely.
check_pair() {
  if [[ -f $1.crt && ! -f $1.key ]]; then
    die "'$dir/${1#"$abs_dir"/}.crt' exists without its key; remove it, or start over with --force"
  fi
}

# issue_leaf BASE ID TYPE [openssl ca options...]: BASE.key and BASE.crt for participant ID,
# issued by the CA; existing files are kept.
issue_leaf() {
  local base=$1 id=$2 type=$3 rel=${1#"$abs_dir"/}
  shift 3
  check_pair "$base"
  if [[ -f $base.key ]]; then
    local have
    have=$(key_type_of "$base.key")
    [[ $have == "$type" ]] ||
      warn "$dir/$rel.key is $have but the config asks for $type; kept it (--force remakes it)"
  else
    new_key "$base.key" "$type"
  fi
  [[ -f $base.crt ]] && return 0
  DX_PARTICIPANT_ID=$id openssl_run "$rel.crt" req -new -config "$cnf" -key "$base.key" \
    -subj "/CN=$id" -out "$work/leaf.csr"
  DX_PARTICIPANT_ID=$id openssl_run "$rel.crt" ca -batch -notext -config "$cnf" \
    -extensions dx_leaf -in "$work/leaf.csr" -out "$work/leaf.crt" "$@"
  chmod 644 "$work/leaf.crt"
  mv -f -- "$work/leaf.crt" "$base.crt"
  created "$dir/$rel.crt"
}

# self_signed_ca BASE CN: a P-256 root CA, 10 years.
self_signed_ca() {
  local base=$1 cn=$2 rel=${1#"$abs_dir"/}
  check_pair "$base"
  new_key "$base.key" p256
  [[ -f $base.crt ]] && return 0
  openssl_run "$rel.crt" req -new -x509 -config "$cnf" -extensions dx_ca_ext -sha256 \
    -key "$base.key" -subj "/CN=$cn" -days "$CA_DAYS" -out "$work/ca.crt"
  chmod 644 "$work/ca.crt"
  mv -f -- "$work/ca.crt" "$base.crt"
  created "$dir/$rel.crt"
}

# ---------------------------------------------------------------- the CA
ca=$abs_dir/ca
if [[ ! -f $ca.key ]]; then
  [[ ! -f $ca.crt ]] || die "'$dir/ca.crt' exists without ca.key; no new certificate can be issued: start over with --force"
  shopt -s nullglob
  leftovers=("$abs_dir"/*.crt "$abs_dir"/test/*.crt)
  shopt -u nullglob
  ((${#leftovers[@]} == 0)) ||
    die "'$dir' holds certificates but no CA key (ca.key); start over with --force"
fi
self_signed_ca "$ca" "$CA_CN"

db=$abs_dir/ca-db
if [[ ! -f $db/index.txt ]]; then
  mkdir -p "$db/issued"
  : >"$db/index.txt"
  echo 01 >"$db/crlnumber"
  created "$dir/ca-db/ (the openssl ca database: index.txt, crlnumber, issued/)"
fi

# ---------------------------------------------------------------- hub and participants
issue_leaf "$abs_dir/$hub_id" "$hub_id" p256
for i in "${!participant_ids[@]}"; do
  issue_leaf "$abs_dir/${participant_ids[$i]}" "${participant_ids[$i]}" "${participant_types[$i]}"
done

# ---------------------------------------------------------------- test certificates
mkdir -p "$abs_dir/test"
chmod 700 "$abs_dir/test"
issue_leaf "$abs_dir/test/revoked" "$TEST_ID" ed25519
issue_leaf "$abs_dir/test/expired" "$TEST_ID" ed25519 \
  -startdate 20200101000000Z -enddate 20200102000000Z

self_signed_ca "$abs_dir/test/foreign-ca" "$FOREIGN_CA_CN"
check_pair "$abs_dir/test/foreign"
new_key "$abs_dir/test/foreign.key" ed25519
if [[ ! -f $abs_dir/test/foreign.crt ]]; then
  # Serial: 16 random bytes, top bit clear so the INTEGER stays positive.
  serial=$(openssl rand -hex 16)
  serial=$(printf '%x%s' $((0x${serial:0:1} & 7)) "${serial:1}")
  DX_PARTICIPANT_ID=$TEST_ID openssl_run test/foreign.crt req -new -config "$cnf" \
    -key "$abs_dir/test/foreign.key" -subj "/CN=$TEST_ID" -out "$work/leaf.csr"
  DX_PARTICIPANT_ID=$TEST_ID openssl_run test/foreign.crt x509 -req -in "$work/leaf.csr" \
    -CA "$abs_dir/test/foreign-ca.crt" -CAkey "$abs_dir/test/foreign-ca.key" \
    -set_serial "0x$serial" -days "$LEAF_DAYS" -sha256 \
    -extfile "$cnf" -extensions dx_leaf -out "$work/leaf.crt"
  chmod 644 "$work/leaf.crt"
  mv -f -- "$work/leaf.crt" "$abs_dir/test/foreign.crt"
  created "$dir/test/foreign.crt"
fi

# ---------------------------------------------------------------- revocation and CRL
revoked_serial=$(openssl x509 -in "$abs_dir/test/revoked.crt" -noout -serial)
revoked_serial=${revoked_serial#serial=}
remake_crl=0
[[ -f $abs_dir/ca.crl ]] || remake_crl=1
if ! awk -F'\t' -v s="$revoked_serial" '$1 == "R" && toupper($4) == toupper(s) { f = 1 }
                                        END { exit !f }' "$db/index.txt"; then
  openssl_run "the revocation of test/revoked.crt" ca -config "$cnf" \
    -revoke "$abs_dir/test/revoked.crt" -crl_reason keyCompromise
  remake_crl=1
fi
if ((remake_crl)); then
  openssl_run ca.crl ca -config "$cnf" -gencrl -crldays "$CRL_DAYS" -out "$work/ca.crl"
  chmod 644 "$work/ca.crl"
  mv -f -- "$work/ca.crl" "$abs_dir/ca.crl"
  created "$dir/ca.crl"
fi

echo "development PKI ready in $abs_dir (trust anchor ca.crt, CRL ca.crl, test certificates in test/)"
