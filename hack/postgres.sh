#!/usr/bin/env bash
# A local PostgreSQL server from Debian's postgresql package, for `berth dev` (the platform
# server that service databases are made on) and the tests (hack/with-postgres.sh):
#   postgres.sh up DIR     initialise DIR once, start the server on 127.0.0.1 (the port it had
#                          before, or a free one) and write DIR/admin-url: a superuser's URL
#   postgres.sh down DIR   stop it (the data stays in DIR)
# Passwords are checked over TCP (scram-sha-256), as on a real server. As root, the server
# runs as the postgres user (initdb refuses root).
set -euo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: postgres.sh up|down DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "postgres.sh: PostgreSQL server not installed (apt-get install postgresql; make runs hack/deps.sh)" >&2
  exit 1
fi
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "postgres.sh: no free port found" >&2
  exit 1
}
case $cmd in
up)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/password"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/password"
    run "$bin/initdb" -D "$dir/data" -U berth --auth-local=trust --auth-host=scram-sha-256 --pwfile="$dir/password" >/dev/null
  fi
  if run "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    port=$(cat "$dir/port")
  else
    port=$(cat "$dir/port" 2>/dev/null || true)
    if [ -z "$port" ] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=$(free_port); fi
    echo "$port" >"$dir/port"
    run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-h 127.0.0.1 -p $port -k $dir -F" start >/dev/null
  fi
  umask 077
  echo "postgres://berth:$(cat "$dir/password")@127.0.0.1:$port/postgres?sslmode=disable" >"$dir/admin-url"
  ;;
down)
  [ -d "$dir/data" ] && run "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: postgres.sh up|down DIR" >&2; exit 2 ;;
esac
