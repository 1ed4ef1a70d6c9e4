#!/usr/bin/env bash
# Runs a command with BERTH_TEST_DATABASE_URL pointing at a real PostgreSQL server. When the
# variable is already set, the given server is used; otherwise a throwaway server is started
# on 127.0.0.1 from Debian's postgresql package and stopped afterwards.
set -euo pipefail
if [ -n "${BERTH_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "with-postgres: PostgreSQL server not installed (apt-get install postgresql), or set BERTH_TEST_DATABASE_URL" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/berth-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() { run "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
run "$bin/initdb" -D "$dir/data" -U berth --auth=trust >/dev/null
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-h 127.0.0.1 -p $port -k $dir -F" start >/dev/null
export BERTH_TEST_DATABASE_URL="postgres://berth@127.0.0.1:$port/postgres?sslmode=disable"
"$@"
