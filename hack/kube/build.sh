#!/usr/bin/env bash
# Builds the local control plane's binaries at pinned versions into a cache folder outside the
# work tree; a second run builds nothing:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd (go.etcd.io/etcd/server/v3), kwok (sigs.k8s.io/kwok) and kwok's stages
#   argocd, kyverno, reports-controller and their manifests (from Berth's own go.mod)
#
# k8s.io/kubernetes and etcd cannot be `go install`ed: their go.mod files replace sibling
# modules with local folders. We build each from a tiny module of our own that requires it
# (and, for Kubernetes, points every staging module at the published v0.X.Y of the release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
root=$(cd "$here/../.." && pwd)
log() { printf '[kube-tools] %s\n' "$*" >&2; }
goversion=$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')

need=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok; do
  [ -x "$KUBE_BIN/$b" ] || need+=("$b")
done
[ -d "$KUBE_BIN/../stages" ] || need+=(kwok-stages)
[ -d "$KUBE_BIN/../kwok-crds" ] || need+=(kwok-crds)
for b in argocd kyverno reports-controller; do
  [ -x "$ADDONS_BIN/$b" ] || need+=("$b")
done
[ -d "$ADDONS_BIN/../share" ] || need+=(addon-manifests)
[ -x "$TOOLS_BIN/kustomize" ] || need+=(kustomize)
if [ ${#need[@]} -eq 0 ]; then
  log "cached: $KUBE_BIN $ADDONS_BIN"
  exit 0
fi
log "building ${need[*]}"
log "a first build takes about 25 minutes on 2 cores; later runs reuse $BERTH_CACHE/kube"

export CGO_ENABLED=0 GOFLAGS=-trimpath
work=$BERTH_CACHE/kube/build-$KUBE_VERSION
mkdir -p "$KUBE_BIN" "$ADDONS_BIN" "$TOOLS_BIN" "$work"

# install_from_module builds the package pkg of module@version into dest, from a module of
# our own in $work/name (extra lines go into its go.mod).
build_in_module() {
  local name=$1 require=$2 dest=$3 pkg=$4 ldflags=$5 extra=${6:-}
  local mod=$work/$name
  mkdir -p "$mod"
  if [ ! -f "$mod/.resolved" ]; then
    log "resolving $require"
    printf 'module berth.local/%s\n\ngo %s\n\nrequire %s\n\n%s\n' "$name" "$goversion" "$require" "$extra" >"$mod/go.mod"
    printf 'package main\n' >"$mod/main.go"
    (cd "$mod" && GOFLAGS=-mod=mod go mod download -x >/dev/null 2>&1 || true)
    touch "$mod/.resolved"
  fi
  log "building $(basename "$dest")"
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" go build -ldflags "$ldflags" -o "$dest.tmp" "$pkg")
  mv "$dest.tmp" "$dest"
}

build_kube() {
  local minor=${KUBE_VERSION#v1.} staging="v0.${KUBE_VERSION#v1.}"
  minor=${minor%%.*}
  local replaces=""
  if [ ! -f "$work/kubernetes/.resolved" ]; then
    local gomod
    gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    # Every staging module that upstream replaces with ./staging/src/... points at the release.
    replaces="replace (
$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$gomod")
)"
  fi
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$KUBE_BIN/$b" ] && continue
    build_in_module kubernetes "k8s.io/kubernetes $KUBE_VERSION" "$KUBE_BIN/$b" "k8s.io/kubernetes/cmd/$b" "$ld" "$replaces"
  done
}

build_etcd() {
  [ -x "$KUBE_BIN/etcd" ] && return
  build_in_module etcd "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$KUBE_BIN/etcd" go.etcd.io/etcd/server/v3 "-s -w"
}

build_kwok() {
  if [ ! -x "$KUBE_BIN/kwok" ]; then
    log "building kwok $KWOK_VERSION"
    GOBIN=$work/gobin go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    mv "$work/gobin/kwok" "$KUBE_BIN/kwok"
  fi
  # kwok's node and pod stages and its CRDs live in its module source; keep the ones the
  # plane uses (the Logs CRD lets a test give one pod its own log files).
  local stages=$KUBE_BIN/../stages crds=$KUBE_BIN/../kwok-crds
  [ -d "$stages" ] && [ -d "$crds" ] && return
  local kwok_src src
  kwok_src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  if [ ! -d "$crds" ]; then
    rm -rf "$crds.tmp" && mkdir -p "$crds.tmp"
    cp "$kwok_src"/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml "$crds.tmp/"
    chmod -R u+w "$crds.tmp"
    mv "$crds.tmp" "$crds"
  fi
  [ -d "$stages" ] && return
  src=$kwok_src/kustomize/stage
  rm -rf "$stages.tmp" && mkdir -p "$stages.tmp"
  cp "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$src"/pod/fast/pod-ready.yaml "$src"/pod/fast/pod-complete.yaml "$src"/pod/fast/pod-delete.yaml "$stages.tmp/"
  chmod -R u+w "$stages.tmp"
  mv "$stages.tmp" "$stages"
}

# module_dir MODULE prints the folder of MODULE at the version Berth's go.mod requires.
module_dir() { (cd "$root" && go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); }

# Argo CD and Kyverno come from Berth's own module graph (go.mod pins them), so the controllers
# the tests run are the very versions whose types Berth compiles against.
build_addons() {
  local share=$ADDONS_BIN/../share
  if [ ! -d "$share" ]; then
    local argo kyv
    # go mod download (not go list) so that a cold module cache is filled first.
    argo=$(module_dir github.com/argoproj/argo-cd/v3)
    kyv=$(module_dir github.com/kyverno/kyverno)
    [ -n "$argo" ] && [ -n "$kyv" ] || { log "cannot download the Argo CD or Kyverno module"; exit 1; }
    rm -rf "$share.tmp"
    mkdir -p "$share.tmp/argocd/crds" "$share.tmp/argocd/config" "$share.tmp/argocd/bin" "$share.tmp/kyverno"
    cp "$argo"/manifests/crds/*-crd.yaml "$share.tmp/argocd/crds/"
    cp "$argo"/manifests/base/config/argocd-*.yaml "$share.tmp/argocd/config/"
    cp "$argo"/hack/git-verify-wrapper.sh "$argo"/hack/gpg-wrapper.sh "$share.tmp/argocd/bin/"
    cp "$kyv"/config/install-latest-testing.yaml "$share.tmp/kyverno/"
    chmod -R u+w "$share.tmp"
    chmod +x "$share.tmp"/argocd/bin/*.sh
    mv "$share.tmp" "$share"
  fi
  if [ ! -x "$ADDONS_BIN/argocd" ]; then
    log "building Argo CD $ARGOCD_VERSION"
    (cd "$root" && go build -ldflags "-s -w" -o "$ADDONS_BIN/argocd.tmp" github.com/argoproj/argo-cd/v3/cmd)
    mv "$ADDONS_BIN/argocd.tmp" "$ADDONS_BIN/argocd"
  fi
  for b in kyverno reports-controller; do
    [ -x "$ADDONS_BIN/$b" ] && continue
    log "building Kyverno $b $KYVERNO_VERSION"
    (cd "$root" && go build -ldflags "-s -w" -o "$ADDONS_BIN/$b.tmp" "github.com/kyverno/kyverno/cmd/$b")
    mv "$ADDONS_BIN/$b.tmp" "$ADDONS_BIN/$b"
  done
}

build_kustomize() {
  [ -x "$TOOLS_BIN/kustomize" ] && return
  log "building kustomize $KUSTOMIZE_VERSION"
  GOBIN=$work/gobin go install -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mv "$work/gobin/kustomize" "$TOOLS_BIN/kustomize"
}

build_kustomize
build_etcd
build_kwok
build_kube
build_addons
log "done: $KUBE_BIN $ADDONS_BIN"
