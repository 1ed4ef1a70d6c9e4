#!/usr/bin/env bash
# A local PostgreSQL server from Debian's postgresql package, for `berth dev` (the platform
# server that service databases are made on) and the tests (hack/with-postgres.sh):
#   postgres.sh up DIR     initialise DIR once, start the server on 127.0.0.1 (the port it had
#                          before, or a free one) and write DIR/admin-url: a superuser's URL
#   postgres.sh down DIR   stop it (the data stays)
#   postgres.sh purge DIR  stop it and remove its data
# Passwords are checked over TCP (scram-sha-256), as on a real server. As root, the server
# runs as the postgres user (initdb refuses root), its files under /var/tmp.
set -euo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: postgres.sh up|down|purge DIR" >&2; exit 2; }
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
# server is where the server's own files live: DIR, or, as root, a folder the postgres user can
# reach whatever DIR's parents allow (a checkout's .berth/ is closed to other users).
server() {
  if [ "$(id -u)" = 0 ]; then
    echo "/var/tmp/berth-postgres-$(printf '%s' "$1" | sha256sum | cut -c1-16)"
  else
    echo "$1"
  fi
}
case $cmd in
up)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  srv=$(server "$dir")
  mkdir -p "$srv"
  [ "$(id -u)" = 0 ] && chown postgres "$srv" && chmod 700 "$srv"
  if [ ! -s "$srv/data/PG_VERSION" ]; then
    rm -rf "$srv/data"
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/password"
    cp "$dir/password" "$srv/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$srv/pwfile"
    run "$bin/initdb" -D "$srv/data" -U berth --auth-local=trust --auth-host=scram-sha-256 --pwfile="$srv/pwfile" >/dev/null
    rm -f "$srv/pwfile"
  fi
  if run "$bin/pg_ctl" -D "$srv/data" status >/dev/null 2>&1; then
    port=$(cat "$dir/port")
  else
    port=$(cat "$dir/port" 2>/dev/null || true)
    if [ -z "$port" ] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=$(free_port); fi
    echo "$port" >"$dir/port"
    run "$bin/pg_ctl" -D "$srv/data" -l "$srv/log" -w -o "-h 127.0.0.1 -p $port -k $srv -F" start >/dev/null
  fi
  umask 077
  echo "postgres://berth:$(cat "$dir/password")@127.0.0.1:$port/postgres?sslmode=disable" >"$dir/admin-url"
  ;;
down)
  dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0
  srv=$(server "$dir")
  [ -d "$srv/data" ] && run "$bin/pg_ctl" -D "$srv/data" -m fast stop >/dev/null 2>&1 || true
  ;;
purge)
  # down, and the server's files too (with-postgres.sh's throwaway servers)
  dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0
  srv=$(server "$dir")
  [ -d "$srv/data" ] && run "$bin/pg_ctl" -D "$srv/data" -m immediate stop >/dev/null 2>&1 || true
  [ "$srv" != "$dir" ] && rm -rf "$srv"
  ;;
*) echo "usage: postgres.sh up|down|purge DIR" >&2; exit 2 ;;
esac
