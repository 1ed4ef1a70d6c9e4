#!/usr/bin/env bash
# Runs a command with BERTH_TEST_DATABASE_URL pointing at a real PostgreSQL server. When the
# variable is already set, the given server is used; otherwise a throwaway server is started
# with hack/postgres.sh and removed afterwards.
set -euo pipefail
if [ -n "${BERTH_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/berth-pg.XXXXXX)
cleanup() { "$here/postgres.sh" purge "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
"$here/postgres.sh" up "$dir"
BERTH_TEST_DATABASE_URL=$(cat "$dir/admin-url")
export BERTH_TEST_DATABASE_URL
"$@"
