#!/usr/bin/env bash
# Builds (once, cached beside the plane's binaries) the peer tools `make bench` measures Berth
# beside that the plane does not need: Kyverno's CLI (kubectl-kyverno), at the version of the
# engine Berth embeds, for `kyverno apply` beside Berth's preflight.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kube/versions.sh"
log() { printf '[bench-tools] %s\n' "$*" >&2; }
bin=$ADDONS_BIN/kubectl-kyverno
if [ -x "$bin" ]; then log "cached: $bin"; exit 0; fi
log "building kubectl-kyverno $KYVERNO_VERSION (a few minutes, once)"
# Kyverno's go.mod replaces modules, which go install @version refuses: build it from a module
# of our own that requires it, with its replace directives copied (a dependency's are ignored).
work=$BERTH_CACHE/kube/kyverno-cli-$KYVERNO_VERSION
rm -rf "$work"
mkdir -p "$work" "$ADDONS_BIN"
cd "$work"
go mod init berth.local/kyverno-cli >/dev/null 2>&1
mod=$(go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
awk '/^replace \(/{f=1; next} f && /^\)/{f=0; next} f{print "replace " $0; next} /^replace /{print}' "$mod" >>go.mod
go get "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno@$KYVERNO_VERSION" >/dev/null 2>&1 || go get "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno@$KYVERNO_VERSION"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
mv "$bin.tmp" "$bin"
log "built $bin"
