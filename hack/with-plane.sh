#!/usr/bin/env bash
# Runs a command with BERTH_TEST_KUBECONFIG pointing at a local control plane with Argo CD
# and Kyverno (hack/kube/plane.sh), started in DIR and stopped afterwards. When the variable
# is already set, that cluster is used and nothing is started.
#   hack/with-plane.sh DIR command...
set -euo pipefail
dir=$1; shift
if [ -n "${BERTH_TEST_KUBECONFIG:-}" ]; then exec "$@"; fi
here=$(cd "$(dirname "$0")" && pwd)
# Ports 26443 and up: clear of the Go tests' planes and of `make dev`'s.
"$here/kube/plane.sh" up "$dir" --port "${BERTH_TEST_PLANE_PORT:-26443}" --watch $$ >&2
trap '"$here/kube/plane.sh" down "$dir" >/dev/null 2>&1 || true' EXIT
export BERTH_TEST_KUBECONFIG=$(cd "$dir" && pwd)/admin.kubeconfig
"$@"
