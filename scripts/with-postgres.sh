#!/usr/bin/env bash
# with-postgres.sh COMMAND [ARG...]: runs COMMAND with a private PostgreSQL 15 server and stops
# the server afterwards, also when COMMAND fails or is interrupted. The server is a fresh
# `initdb` in a temporary folder, owned by the `postgres` user (initdb refuses root), listening
# on a free port on 127.0.0.1 only, its unix socket in the same folder, trust authentication
# for the local superuser `postgres` (it is reachable from this machine only, and lives only as
# long as COMMAND). COMMAND finds it through
#   DX_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres
# (tests make a database of their own in it). Used by `make test` and `make bench`.
# Needs Debian's postgresql package (scripts/ensure-deps.sh installs it).
set -euo pipefail

readonly PROG=scripts/with-postgres.sh
readonly PG_BIN=${DX_PG_BIN:-/usr/lib/postgresql/15/bin}
die() {
  echo "$PROG: error: $*" >&2
  exit 1
}
(($# > 0)) || die "usage: $PROG COMMAND [ARG...]"
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] ||
  die "PostgreSQL 15 not found in $PG_BIN (apt-get install postgresql)"

as_postgres=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "there is no 'postgres' user (apt-get install postgresql)"
  as_postgres=(runuser -u postgres --)
fi

# A folder the server's user owns, under /tmp (root's home is not readable by postgres).
dir=$(mktemp -d /tmp/dx-pg.XXXXXX)
chmod 0755 "$dir"
[[ ${#as_postgres[@]} -eq 0 ]] || chown postgres: "$dir"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

started=0
stop_server() {
  if ((started)); then
    (cd "$dir" && "${as_postgres[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1) || echo "$PROG: warning: pg_ctl stop failed (see $dir/server.log)" >&2
  fi
  rm -rf "$dir"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$dir"   # pg_ctl and initdb complain when they cannot read the current folder
"${as_postgres[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
"${as_postgres[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c synchronous_commit=on" \
  start >/dev/null || { cat "$dir/server.log" >&2; die "the PostgreSQL server did not start"; }
started=1
cd - >/dev/null

export DX_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "$PROG: PostgreSQL 15 on 127.0.0.1:$port (data in $dir, stopped when done)" >&2
set +e
"$@"
rc=$?
set -e
exit "$rc"
