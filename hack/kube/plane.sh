#!/usr/bin/env bash
# A real local Kubernetes control plane without containers, all on 127.0.0.1:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake nodes and pods,
#   fake container logs), and optionally Argo CD (repo server, application controller, Redis)
#   and Kyverno (admission controller, reports controller).
#
#   plane.sh up DIR [--port N] [--minimal] [--no-argocd] [--no-kyverno] [--controller-qps N] [--watch PID]
#   plane.sh down DIR
#   plane.sh status DIR
#   plane.sh stop-part DIR NAME    plane.sh start-part DIR NAME
#
# DIR holds certificates, kubeconfigs, data, logs and the PIDs of what `up` started; `down`
# kills exactly those PIDs. --port picks the API server's port; the other components use the
# ports right above it, so two planes with ports 20 apart run side by side. --minimal starts
# only etcd and the API server (enough for a second cluster in cluster-per-team tests).
# --controller-qps N lets the controller manager and the scheduler send N requests a second
# (default: client-go's 20), for benchmarks that fill the plane with thousands of objects.
# --watch PID stops the plane when that process ends, so a test binary that crashes leaves
# nothing running. stop-part and start-part stop one component (kube-apiserver,
# argocd-application-controller, ...) and start it again as `up` did, for fault tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
SHARE=$ADDONS_BIN/../share
STAGES=$KUBE_BIN/../stages
KWOK_CRDS=$KUBE_BIN/../kwok-crds
export PATH=$KUBE_BIN:$TOOLS_BIN:$PATH

log() { printf '[plane] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: plane.sh up|down|status DIR [--port N] [--minimal] [--no-argocd] [--no-kyverno] | stop-part|start-part DIR NAME"
shift 2
part=
case $cmd in stop-part|start-part) part=${1:-}; [ -n "$part" ] || die "usage: plane.sh $cmd DIR NAME"; shift ;; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=16443 argocd=1 kyverno=1 minimal=0 watch= qps=
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift ;;
    --minimal) minimal=1 argocd=0 kyverno=0 ;;
    --no-argocd) argocd=0 ;;
    --no-kyverno) kyverno=0 ;;
    --watch) watch=$2; shift ;;
    --controller-qps) qps=$2; shift ;;
    *) die "unknown flag $1" ;;
  esac
  shift
done
# A plane that is up remembers its ports and parts, so later commands need only DIR.
[ -f "$dir/plane.env" ] && [ "$cmd" != up ] && . "$dir/plane.env"

set_ports() {
  P_ETCD=$((port + 1)) P_ETCD_PEER=$((port + 2)) P_KCM=$((port + 3)) P_SCHED=$((port + 4)) P_KWOK=$((port + 5))
  P_REDIS=$((port + 6)) P_REPO=$((port + 7)) P_REPO_METRICS=$((port + 8)) P_ARGO_METRICS=$((port + 9))
  P_KYV_WEBHOOK=$((port + 10)) P_KYV_METRICS=$((port + 11)) P_KYV_REPORTS_METRICS=$((port + 12))
  P_KYV_PROFILE=$((port + 13)) P_KYV_REPORTS_PROFILE=$((port + 14)) P_KYV_HEALTH=$((port + 15))
  P_ARGO_SERVER=$((port + 16)) P_ARGO_SERVER_METRICS=$((port + 17))
}
set_ports
KUBECONFIG_ADMIN=$dir/admin.kubeconfig

pidfile() { echo "$dir/pids/$1.pid"; }

# start NAME CMD...: runs CMD in its own session with its log in logs/NAME.log.
start() {
  local name=$1; shift
  mkdir -p "$dir/pids" "$dir/logs"
  # The command, quoted, for start-part.
  printf '%q ' "$@" >"$dir/pids/$name.cmd"
  setsid "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# running PID: the process exists and is not a zombie (orphans are reaped by PID 1, which in
# a container may never do it).
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

alive() { local f; f=$(pidfile "$1"); [ -f "$f" ] && running "$(cat "$f")"; }

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds; names the log to read on failure.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      log "$what not ready after ${secs}s; see $dir/logs/"
      tail -n 20 "$dir/logs/$what.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.3
  done
}

k() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

certs() {
  local pki=$dir/pki
  [ -f "$pki/admin.crt" ] || make_certs "$pki"
  # Written on every start: the port may differ from the last one.
  cat >"$KUBECONFIG_ADMIN" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-local
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $pki/ca.crt
users:
- name: berth-admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: berth-local
  context: {cluster: berth-local, user: berth-admin}
current-context: berth-local
EOF
}

make_certs() {
  local pki=$1
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=berth-local-ca" 2>/dev/null
    cat >apiserver.ext <<EOF
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=berth-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 -extfile client.ext 2>/dev/null
    # kwok serves container logs where the API server expects a kubelet: HTTPS on 127.0.0.1.
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >kwok.ext
    openssl req -newkey rsa:2048 -nodes -keyout kwok.key -out kwok.csr -subj "/CN=kwok" 2>/dev/null
    openssl x509 -req -in kwok.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out kwok.crt -days 3650 -extfile kwok.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
}

up_core() {
  start etcd etcd --name berth --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-cluster "berth=http://127.0.0.1:$P_ETCD_PEER" --listen-metrics-urls "" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296
  wait_for etcd 30 curl -sf "http://127.0.0.1:$P_ETCD/health"

  local pki=$dir/pki
  start kube-apiserver kube-apiserver --etcd-servers "http://127.0.0.1:$P_ETCD" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --endpoint-reconciler-type none --service-cluster-ip-range 10.96.0.0/16 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --authorization-mode Node,RBAC --allow-privileged \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --enable-priority-and-fairness=false --profiling=false
  wait_for kube-apiserver 60 k get --raw /readyz
  [ $minimal = 1 ] && return

  local rate=()
  [ -z "$qps" ] || rate=(--kube-api-qps "$qps" --kube-api-burst $((qps * 2)))
  start kube-controller-manager kube-controller-manager --kubeconfig "$KUBECONFIG_ADMIN" \
    --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
    --bind-address 127.0.0.1 --secure-port "$P_KCM" --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route' --concurrent-deployment-syncs 10 \
    --node-monitor-grace-period 60s --profiling=false "${rate[@]}"
  start kube-scheduler kube-scheduler --kubeconfig "$KUBECONFIG_ADMIN" \
    --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
    --bind-address 127.0.0.1 --secure-port "$P_SCHED" --leader-elect=false --profiling=false "${rate[@]}"
  up_kwok
  wait_for kube-controller-manager 60 k get serviceaccount default -n default
}

up_kwok() {
  local cfg=$dir/kwok.yaml
  {
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
metadata: {name: berth}
options:
  cidr: 10.0.0.1/16
  nodeIP: 127.0.0.1
  serverAddress: 127.0.0.1:$P_KWOK
  nodePort: $P_KWOK
  tlsCertFile: $dir/pki/kwok.crt
  tlsPrivateKeyFile: $dir/pki/kwok.key
  manageAllNodes: false
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  enableDebuggingHandlers: true
  enableContentionProfiling: false
  enableProfilingHandler: false
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 2
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 2
  podsOnNodeSyncParallelism: 4
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
  enableCRDs: [Logs]
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: all-pods}
spec:
  logs:
  - containers: []
    logsFile: $dir/container.log
    follow: true
EOF
    for s in "$STAGES"/*.yaml; do echo "---"; cat "$s"; done
  } >"$cfg"
  # Every container "prints" these lines; log tests and the log viewer read them back.
  printf '%s\n' \
    '2026-01-01T00:00:00.000000000Z stdout F berth fake container started' \
    '2026-01-01T00:00:01.000000000Z stdout F listening on :8080' \
    '2026-01-01T00:00:02.000000000Z stderr F warning: this is a kwok pod, nothing really runs' >"$dir/container.log"
  # A Logs object (kwok.x-k8s.io) gives one pod its own log files, the current and the
  # previous container's: tests write them to make a crash loop's last lines.
  [ -d "$KWOK_CRDS" ] || die "missing kwok's CRDs: run 'make kube-tools' first"
  k apply --server-side -f "$KWOK_CRDS" >/dev/null
  k wait --for condition=established --timeout 60s crd logs.kwok.x-k8s.io >/dev/null
  start kwok kwok --kubeconfig "$KUBECONFIG_ADMIN" --config "$cfg"
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
spec: {}
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1000", ephemeral-storage: 1Ti}
  capacity: {cpu: "64", memory: 256Gi, pods: "1000", ephemeral-storage: 1Ti}
  nodeInfo: {architecture: amd64, kubeletVersion: kwok-$KWOK_VERSION, operatingSystem: linux}
EOF
  wait_for kwok 30 bash -c "kubectl --kubeconfig '$KUBECONFIG_ADMIN' get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
}

# The CRDs Berth relies on are installed whether or not their controllers run, so that code
# that creates Applications or reads PolicyReports can be tested on any plane.
up_crds() {
  [ -d "$SHARE" ] || die "missing Argo CD and Kyverno manifests: run 'make kube-tools' first"
  k apply --server-side --force-conflicts -f "$SHARE/argocd/crds/" >/dev/null
  crd_docs "$SHARE/kyverno/install-latest-testing.yaml" | k apply --server-side --force-conflicts -f - >/dev/null
  k wait --for condition=established --timeout 60s crd --all >/dev/null
}

# crd_docs FILE prints the CustomResourceDefinitions of a multi-document YAML file.
crd_docs() { awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} /(^|\n)kind: CustomResourceDefinition\n/' "$1"; }

# no_deployments FILE prints every document but Deployments.
no_deployments() { awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} !/(^|\n)kind: Deployment\n/' "$1"; }

up_argocd() {
  start redis redis-server --bind 127.0.0.1 --port "$P_REDIS" --save "" --appendonly no --protected-mode yes
  k create namespace argocd --dry-run=client -o yaml | k apply -f - >/dev/null
  k apply -n argocd -f "$SHARE/argocd/config/" >/dev/null
  # kwok runs no containers, so no metrics server feeds HorizontalPodAutoscalers and Argo CD
  # would call every HPA Degraded; and no ingress controller runs (none builds from Go modules
  # and routes to kwok's pods, which serve nothing), so no one fills an Ingress's status and
  # Argo CD would keep it Progressing. On this plane only, both are Healthy with a message
  # that says why; a real cluster keeps Argo CD's own checks.
  local health
  health=$(printf '%s' '{"data":{
    "resource.customizations.health.autoscaling_HorizontalPodAutoscaler":"hs = {}\nhs.status = \"Healthy\"\nhs.message = \"no metrics on the local plane\"\nreturn hs\n",
    "resource.customizations.health.networking.k8s.io_Ingress":"hs = {}\nhs.status = \"Healthy\"\nhs.message = \"no ingress controller on the local plane\"\nreturn hs\n"}}')
  k -n argocd patch configmap argocd-cm --type merge -p "$health" >/dev/null
  k -n argocd patch secret argocd-secret --type merge -p "{\"stringData\":{\"server.secretkey\":\"$(openssl rand -hex 32)\"}}" >/dev/null
  k apply -f - >/dev/null <<EOF
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{namespace: "*", server: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
EOF
  # The repo server's git asks the argocd binary for repository credentials (GIT_ASKPASS=argocd),
  # so it must be on PATH under that name. They talk over a unix socket, /tmp/reposerver-ask-pass.sock
  # unless told otherwise: planes side by side (test packages in parallel) would take each
  # other's, so each plane has its own (short: a socket path has at most 107 bytes).
  local askpass
  askpass=$(mktemp -u /tmp/berth-askpass-XXXXXXXX.sock)
  echo "$askpass" > "$dir/argocd-askpass" # for down, which removes it
  local env=(env ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$KUBECONFIG_ADMIN" ARGOCD_GPG_ENABLED=false ARGOCD_ASK_PASS_SOCK="$askpass"
    ARGOCD_TLS_DATA_PATH="$dir/argocd/tls" ARGOCD_SSH_DATA_PATH="$dir/argocd/ssh" ARGOCD_GNUPGHOME="$dir/argocd/gpg"
    ARGOCD_GPG_DATA_PATH="$dir/argocd/gpg-source" HOME="$dir/argocd/home" PATH="$SHARE/argocd/bin:$ADDONS_BIN:$PATH")
  mkdir -p "$dir/argocd/tls" "$dir/argocd/ssh" "$dir/argocd/gpg" "$dir/argocd/gpg-source" "$dir/argocd/home"
  wait_for redis 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_REDIS"
  start argocd-repo-server "${env[@]}" ARGOCD_BINARY_NAME=argocd-repo-server "$ADDONS_BIN/argocd" \
    --address 127.0.0.1 --port "$P_REPO" --metrics-address 127.0.0.1 --metrics-port "$P_REPO_METRICS" \
    --disable-tls --client-ca-path= --redis "127.0.0.1:$P_REDIS" --loglevel info
  # The controller's metrics listener binds every address and has no flag to change it.
  start argocd-application-controller "${env[@]}" ARGOCD_BINARY_NAME=argocd-application-controller "$ADDONS_BIN/argocd" \
    --namespace argocd --repo-server "127.0.0.1:$P_REPO" --repo-server-plaintext --redis "127.0.0.1:$P_REDIS" \
    --metrics-port "$P_ARGO_METRICS" --app-resync 30 --self-heal-timeout-seconds 1 --status-processors 4 --operation-processors 4 --loglevel info
  # The API server (plain HTTP on loopback) serves Argo CD's REST API; on first start it
  # writes the admin password into the argocd-initial-admin-secret Secret.
  start argocd-server "${env[@]}" ARGOCD_BINARY_NAME=argocd-server "$ADDONS_BIN/argocd" \
    --namespace argocd --insecure --address 127.0.0.1 --port "$P_ARGO_SERVER" \
    --metrics-address 127.0.0.1 --metrics-port "$P_ARGO_SERVER_METRICS" --repo-server "127.0.0.1:$P_REPO" --repo-server-plaintext \
    --redis "127.0.0.1:$P_REDIS" --dex-server-plaintext --loglevel info
  wait_for argocd-repo-server 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_REPO"
  wait_for argocd-server 60 curl -sf "http://127.0.0.1:$P_ARGO_SERVER/healthz"
  wait_for argocd-application-controller 60 curl -sf "http://127.0.0.1:$P_ARGO_METRICS/metrics"
}

up_kyverno() {
  # Kyverno's install manifest without its Deployments: CRDs, namespace, config maps, RBAC.
  no_deployments "$SHARE/kyverno/install-latest-testing.yaml" | k apply --server-side --force-conflicts -f - >/dev/null
  local common=(env KYVERNO_NAMESPACE=kyverno KYVERNO_DEPLOYMENT=kyverno-admission-controller INIT_CONFIG=kyverno
    METRICS_CONFIG=kyverno-metrics KYVERNO_SERVICEACCOUNT_NAME=kyverno-admission-controller KYVERNO_POD_NAME=kyverno-local
    KYVERNO_SVC=kyverno-svc TUF_ROOT="$dir/kyverno/tuf" HOME="$dir/kyverno")
  mkdir -p "$dir/kyverno/tuf"
  start kyverno "${common[@]}" "$ADDONS_BIN/kyverno" --kubeconfig "$KUBECONFIG_ADMIN" \
    --serverIP "127.0.0.1:$P_KYV_WEBHOOK" --webhookServerHost 127.0.0.1 --webhookServerPort "$P_KYV_WEBHOOK" \
    --caSecretName kyverno-svc.kyverno.svc.kyverno-tls-ca --tlsSecretName kyverno-svc.kyverno.svc.kyverno-tls-pair \
    --backgroundServiceAccountName system:serviceaccount:kyverno:kyverno-background-controller \
    --reportsServiceAccountName system:serviceaccount:kyverno:kyverno-reports-controller \
    --metricsHost 127.0.0.1 --metricsPort "$P_KYV_METRICS" --controllerRuntimeMetricsAddress 0 \
    --profilePort "$P_KYV_PROFILE" --profileAddress 127.0.0.1 --disableMetrics=false --otelConfig prometheus \
    --autoUpdateWebhooks=true --webhookRegistrationTimeout 60s
  start kyverno-reports-controller "${common[@]}" KYVERNO_SERVICEACCOUNT_NAME=kyverno-reports-controller \
    "$ADDONS_BIN/reports-controller" --kubeconfig "$KUBECONFIG_ADMIN" \
    --metricsHost 127.0.0.1 --metricsPort "$P_KYV_REPORTS_METRICS" \
    --profilePort "$P_KYV_REPORTS_PROFILE" --profileAddress 127.0.0.1 --otelConfig prometheus
  wait_for kyverno 120 bash -c "kubectl --kubeconfig '$KUBECONFIG_ADMIN' get validatingwebhookconfigurations -l webhook.kyverno.io/managed-by=kyverno -o name | grep -q resource"
}

# components: the processes a plane of these parts runs.
components() {
  echo etcd kube-apiserver
  [ "$minimal" = 1 ] || echo kube-controller-manager kube-scheduler kwok
  [ "$argocd" = 1 ] && echo redis argocd-repo-server argocd-application-controller argocd-server
  [ "$kyverno" = 1 ] && echo kyverno kyverno-reports-controller
  return 0
}

# missing: what of the recorded plane does not run or answer; empty when all of it does.
missing() {
  local name gone=()
  for name in $(components); do alive "$name" || gone+=("$name"); done
  if alive kube-apiserver; then
    k get --raw /readyz --request-timeout 5s >/dev/null 2>&1 || gone+=("kube-apiserver(not-ready)")
    if [ "$argocd" = 1 ] && ! k get namespace argocd >/dev/null 2>&1; then gone+=("namespace/argocd"); fi
    if [ "$kyverno" = 1 ] && ! k get namespace kyverno >/dev/null 2>&1; then gone+=("namespace/kyverno"); fi
  fi
  echo "${gone[*]}"
}

# A start is all or nothing: when any step fails, everything this start began is stopped and
# the folder marked failed, so that the next start wipes it and begins clean.
up_failed() {
  local rc=$?
  [ $rc = 0 ] && return
  log "start failed; stopping what it started (logs: $dir/logs/)"
  down >/dev/null 2>&1 || true
  date -u +%FT%TZ >"$dir/failed"
  exit $rc
}

up() {
  local want_argocd=$argocd want_kyverno=$kyverno want_minimal=$minimal want_port=$port
  if [ -f "$dir/plane.env" ]; then
    . "$dir/plane.env"
    set_ports
    local gone; gone=$(missing)
    if [ -z "$gone" ] && [ "$argocd" -ge "$want_argocd" ] && [ "$kyverno" -ge "$want_kyverno" ] && [ "$minimal" -le "$want_minimal" ]; then
      log "already up: KUBECONFIG=$KUBECONFIG_ADMIN"
      return
    fi
    if [ -n "$gone" ]; then
      log "the plane recorded in $dir is incomplete ($gone not running); stopping it and starting again"
    else
      log "the plane in $dir lacks parts asked for now; stopping it and starting again"
    fi
    down >/dev/null
  fi
  argocd=$want_argocd kyverno=$want_kyverno minimal=$want_minimal port=$want_port
  set_ports
  if [ -f "$dir/failed" ]; then
    log "the last start in $dir failed ($(cat "$dir/failed")); wiping its state and starting clean"
    rm -rf "$dir/logs.failed"
    [ -d "$dir/logs" ] && mv "$dir/logs" "$dir/logs.failed"
    find "$dir" -mindepth 1 -maxdepth 1 ! -name logs.failed -exec rm -rf {} +
  fi
  for b in etcd kube-apiserver; do [ -x "$KUBE_BIN/$b" ] || die "missing $b: run 'make kube-tools' first"; done
  if [ "$argocd" = 1 ]; then
    command -v redis-server >/dev/null || die "Argo CD needs redis-server (hack/deps.sh installs it), or use --no-argocd"
  fi
  trap up_failed EXIT
  cat >"$dir/plane.env" <<EOF
port=$port minimal=$minimal argocd=$argocd kyverno=$kyverno
EOF
  local t0=$SECONDS
  certs
  up_core
  up_crds
  if [ "$argocd" = 1 ]; then up_argocd; fi
  if [ "$kyverno" = 1 ]; then up_kyverno; fi
  cat >"$dir/env" <<EOF
export KUBECONFIG=$KUBECONFIG_ADMIN
BERTH_PLANE_DIR=$dir
BERTH_PLANE_ARGOCD=$argocd
BERTH_PLANE_KYVERNO=$kyverno
BERTH_PLANE_REPO_SERVER=127.0.0.1:$P_REPO
BERTH_PLANE_ARGOCD_SERVER=$( [ "$argocd" = 1 ] && echo "http://127.0.0.1:$P_ARGO_SERVER" )
EOF
  if [ -n "$watch" ]; then
    start watchdog bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; exec '$here/plane.sh' down '$dir'"
  fi
  trap - EXIT
  rm -f "$dir/failed"
  log "up in $((SECONDS - t0))s: export KUBECONFIG=$KUBECONFIG_ADMIN"
}

# stop NAME: kills a recorded process, politely first.
stop() {
  local f; f=$(pidfile "$1")
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if [ "$pid" != $$ ] && running "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

down() {
  [ -d "$dir/pids" ] || return 0
  stop watchdog
  # Kyverno's webhook configurations outlive it, and with no Kyverno to answer every matching
  # request would fail. Stop Kyverno first (it would put them back), then remove them while
  # the API server still runs.
  stop kyverno
  stop kyverno-reports-controller
  if alive kube-apiserver; then
    k delete validatingwebhookconfigurations,mutatingwebhookconfigurations -l webhook.kyverno.io/managed-by=kyverno \
      --ignore-not-found >/dev/null 2>&1 || log "could not remove Kyverno's webhook configurations"
  fi
  for name in argocd-application-controller argocd-server argocd-repo-server redis kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    stop "$name"
  done
  if [ -f "$dir/argocd-askpass" ]; then rm -f "$(cat "$dir/argocd-askpass")" "$dir/argocd-askpass"; fi
  rm -f "$dir/plane.env"
  log "down"
}

# start_part NAME: starts a stopped component with the command `up` recorded, and waits until
# it answers.
start_part() {
  local name=$1
  [ -f "$dir/pids/$name.cmd" ] || die "$name was never started in $dir"
  alive "$name" && { log "$name already runs"; return; }
  eval "local args=($(cat "$dir/pids/$name.cmd"))"
  start "$name" "${args[@]}"
  case $name in
    etcd) wait_for etcd 30 curl -sf "http://127.0.0.1:$P_ETCD/health" ;;
    kube-apiserver) wait_for kube-apiserver 60 k get --raw /readyz ;;
    argocd-application-controller) wait_for "$name" 60 curl -sf "http://127.0.0.1:$P_ARGO_METRICS/metrics" ;;
    argocd-server) wait_for "$name" 60 curl -sf "http://127.0.0.1:$P_ARGO_SERVER/healthz" ;;
    argocd-repo-server) wait_for "$name" 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_REPO" ;;
    *) sleep 0.5; alive "$name" || { tail -n 20 "$dir/logs/$name.log" >&2; die "$name did not start"; } ;;
  esac
  log "$name started"
}

status() {
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    local name; name=$(basename "$f" .pid)
    if alive "$name"; then echo "$name running (pid $(cat "$f"))"; else echo "$name stopped"; fi
  done
}

case $cmd in
  up) up ;;
  down) down ;;
  status) status ;;
  stop-part) stop "$part"; log "$part stopped" ;;
  start-part) start_part "$part" ;;
  *) die "unknown command $cmd" ;;
esac
