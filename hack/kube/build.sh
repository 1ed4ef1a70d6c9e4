#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok at pinned
# versions into a cache folder outside the work tree. A second run builds nothing.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging modules with
# local folders. We build it from a tiny module of our own that requires it and points every
# staging module at the published v0.X.Y of the same release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
mkdir -p "$KUBE_BIN"
log() { printf '[kube-tools] %s\n' "$*" >&2; }

root=$(cd "$here/../.." && pwd)
need=()
for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok; do
  [ -x "$KUBE_BIN/$b" ] || need+=("$b")
done
for b in argocd kyverno reports-controller; do
  [ -x "$ADDONS_BIN/$b" ] || need+=("$b")
done
if [ ${#need[@]} -eq 0 ]; then log "cached in $KUBE_BIN and $ADDONS_BIN"; exit 0; fi
log "building ${need[*]} (first build: about 25 minutes on 2 cores; later runs reuse the cache)"

export CGO_ENABLED=0 GOFLAGS=-trimpath
work=$BERTH_CACHE/kube/build-$KUBE_VERSION
mkdir -p "$work"

build_kube() {
  local mod=$work/kubernetes
  mkdir -p "$mod"
  if [ ! -f "$mod/.resolved" ]; then
    log "resolving k8s.io/kubernetes $KUBE_VERSION"
    local src
    src=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    local minor=${KUBE_VERSION#v1.}
    local staging="v0.$minor"
    {
      echo "module berth.local/kubebuild"
      echo
      echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      echo "replace ("
      # Every staging module that upstream replaces with ./staging/src/... points at the release.
      sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$src"
      echo ")"
    } >"$mod/go.mod"
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    (cd "$mod" && go mod tidy)
    touch "$mod/.resolved"
  fi
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$KUBE_BIN/$b" ] && continue
    log "building $b"
    (cd "$mod" && go build -ldflags "$ld" -o "$KUBE_BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$KUBE_BIN/$b.tmp" "$KUBE_BIN/$b"
  done
}

build_etcd() {
  [ -x "$KUBE_BIN/etcd" ] && return
  log "building etcd $ETCD_VERSION"
  # etcd's server module replaces its siblings with local folders too: same trick as Kubernetes.
  local mod=$work/etcd
  mkdir -p "$mod"
  if [ ! -f "$mod/.resolved" ]; then
    printf 'module berth.local/etcdbuild\n\ngo %s\n' "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" >"$mod/go.mod"
    (cd "$mod" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
    touch "$mod/.resolved"
  fi
  (cd "$mod" && GOFLAGS=-mod=mod go build -ldflags "-s -w" -o "$KUBE_BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$KUBE_BIN/etcd.tmp" "$KUBE_BIN/etcd"
}

build_kwok() {
  [ -x "$KUBE_BIN/kwok" ] && return
  log "building kwok $KWOK_VERSION"
  GOBIN=$work/gobin go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$work/gobin/kwok" "$KUBE_BIN/kwok"
  # kwok's pod and node stages live in its module source; keep the ones we use next to it.
  local src
  src=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
  mkdir -p "$KUBE_BIN/../stages"
  cp "$src"/node/fast/*.yaml "$src"/pod/fast/*.yaml "$KUBE_BIN/../stages/" 2>/dev/null || cp -r "$src" "$KUBE_BIN/../stages-src"
}

# Argo CD and Kyverno come from Berth's own module graph (go.mod pins them), so the controllers
# we test against are the very versions whose types Berth compiles with.
build_addons() {
  mkdir -p "$ADDONS_BIN"
  local ld="-s -w"
  if [ ! -x "$ADDONS_BIN/argocd" ]; then
    log "building Argo CD $ARGOCD_VERSION"
    (cd "$root" && go build -ldflags "$ld -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}" -o "$ADDONS_BIN/argocd.tmp" github.com/argoproj/argo-cd/v3/cmd)
    mv "$ADDONS_BIN/argocd.tmp" "$ADDONS_BIN/argocd"
  fi
  for b in kyverno reports-controller; do
    [ -x "$ADDONS_BIN/$b" ] && continue
    log "building Kyverno $b $KYVERNO_VERSION"
    (cd "$root" && go build -ldflags "$ld" -o "$ADDONS_BIN/$b.tmp" "github.com/kyverno/kyverno/cmd/$b")
    mv "$ADDONS_BIN/$b.tmp" "$ADDONS_BIN/$b"
  done
}

build_etcd
build_kwok
build_kube
build_addons
log "done: $KUBE_BIN, $ADDONS_BIN"
