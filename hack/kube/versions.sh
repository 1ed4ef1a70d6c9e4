# Pinned versions of the local control plane. Sourced by the other scripts.
# Changing a version changes the cache key, so the next `make kube-tools` builds it.
KUBE_VERSION=v1.36.3   # k8s.io/kubernetes; its minor matches client-go v0.36
ETCD_VERSION=v3.6.16   # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0    # sigs.k8s.io/kwok
KUSTOMIZE_VERSION=v5.8.1  # sigs.k8s.io/kustomize/kustomize/v5, run by Argo CD's repo server
BERTH_CACHE=${BERTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}
KUBE_BIN=$BERTH_CACHE/kube/$KUBE_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION/bin
TOOLS_BIN=$BERTH_CACHE/kube/kustomize$KUSTOMIZE_VERSION/bin
# Argo CD and Kyverno: the versions Berth's go.mod requires.
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARGOCD_VERSION=$(cd "$_root" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
KYVERNO_VERSION=$(cd "$_root" && go list -m -f '{{.Version}}' github.com/kyverno/kyverno)
ADDONS_BIN=$BERTH_CACHE/kube/argocd$ARGOCD_VERSION-kyverno$KYVERNO_VERSION/bin
