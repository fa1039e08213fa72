#!/usr/bin/env bash
# make up: a real single-node Kubernetes cluster on this machine with the
# operator deployed from config/ and a demo workload confined by it.
#
# As root on Debian 12: installs containerd, CNI plugins, iptables and
# nginx from Debian; builds pinned Kubernetes components and runc from the Go
# module proxy (hack/kube-binaries.sh, hack/runc.sh, cached by version) and
# installs that runc as $RUNC for containerd; builds the operator's
# images without Docker (hack/images.sh) and imports them into containerd;
# starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the
# kubelet (confined by the predefined kubelet profile) and kube-proxy
# (confined by kube-proxy), with bridge pod networking; applies
# config/default; runs hack/demo/webapp.yaml under the webapp profile.
#
# A second run restarts the cluster from scratch, reusing every cache.
# make down (hack/down.sh) stops and removes everything this started.
#
# Environment: UP_DIR (state, default /var/lib/seccomp-operator-up; logs in
# $UP_DIR/logs), KUBE_VERSION (see hack/kube-binaries.sh), RUNC_VERSION (see
# hack/runc.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
UP_DIR=${UP_DIR:-/var/lib/seccomp-operator-up}
LOGS=$UP_DIR/logs
KUBELET_ROOT=/var/lib/kubelet
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.96.0.0/16
# Audit login uids that mark the kubelet's and kube-proxy's process trees, so
# that their seccomp denials (type=1326 records) can be told from others'.
KUBELET_AUID=4242
KUBE_PROXY_AUID=4243
# The runc containerd runs pods with: the pinned one of hack/runc.sh, not
# Debian's 1.1.5 at /usr/sbin/runc, which refuses the seccomp flag
# (SECCOMP_FILTER_FLAG_LOG) that makes the kernel audit a profile's denials.
# Under /usr so that the agent, which reads the host's /usr at /host/usr,
# sees it; hack/up/kustomization.yaml names it in --runtime-binaries.
RUNC=/usr/local/sbin/runc-seccomp-operator

start_time=$SECONDS
step() { printf '\033[1m== %s\033[0m (%ds)\n' "$*" $((SECONDS - start_time)) >&2; }
die() { echo "up: $*" >&2; echo "up: logs are in $LOGS" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (containerd, kubelet, iptables)"

step "Debian packages"
./hack/install-deps.sh cluster

step "Kubernetes binaries (built from the Go module proxy once, then cached)"
KB=$(./hack/kube-binaries.sh kube-apiserver etcd kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
mkdir -p bin
ln -sfn "$KB/kubectl" bin/kubectl

step "runc (pinned, built from the Go module proxy once, then cached)"
RUNC_BUILT=$(./hack/runc.sh)

step "Operator binaries and images (no Docker: hack/images.sh)"
make -s build
OUT=_out/images ./hack/images.sh >/dev/null

step "Stopping anything a previous make up left"
./hack/down.sh --quiet

NODE=$(hostname | tr '[:upper:]' '[:lower:]')
IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$IP" ] || IP=$(hostname -I | awk '{print $1}')
[ -n "$IP" ] || die "no IPv4 address found for the node"
if [ -d "$KUBELET_ROOT" ] && [ ! -f "$KUBELET_ROOT/.seccomp-operator-up" ] && [ -n "$(ls -A "$KUBELET_ROOT")" ]; then
  die "$KUBELET_ROOT exists and was not made by make up: is a kubelet already running here?"
fi
mkdir -p "$UP_DIR"/{pki,run,cni/net.d,cni/ipam,etcd} "$LOGS" "$KUBELET_ROOT/seccomp"
touch "$KUBELET_ROOT/.seccomp-operator-up"
ln -sfn "$KB/kube-proxy" "$UP_DIR/kube-proxy"   # for hack/down.sh's cleanup
P=$UP_DIR/pki

step "Certificates and kubeconfigs (node $NODE, $IP)"
ossl() { openssl "$@" 2>>"$LOGS/pki.log"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=seccomp-operator-up-ca" -keyout "$P/ca.key" -out "$P/ca.crt"
# cert NAME CN [O] [SAN]: a key and a certificate signed by the CA.
cert() {
  local name=$1 cn=$2 o=${3:-} san=${4:-}
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$cn${o:+/O=$o}" -keyout "$P/$name.key" -out "$P/$name.csr"
  {
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=clientAuth,serverAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$P/$name.ext"
  ossl x509 -req -in "$P/$name.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
    -days 3650 -extfile "$P/$name.ext" -out "$P/$name.crt"
}
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE,IP:127.0.0.1,IP:$IP,IP:10.96.0.1"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin seccomp-operator-up-admin system:masters
cert controller-manager system:kube-controller-manager
cert scheduler system:kube-scheduler
cert kubelet "system:node:$NODE" system:nodes
cert kube-proxy system:kube-proxy
ossl ecparam -name prime256v1 -genkey -noout -out "$P/sa.key"
ossl ec -in "$P/sa.key" -pubout -out "$P/sa.pub"
chmod 600 "$P"/*.key

server=https://$IP:6443
kubeconfig() { # NAME: a kubeconfig for the client certificate NAME
  cat >"$UP_DIR/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority: $P/ca.crt
users:
- name: $1
  user:
    client-certificate: $P/$1.crt
    client-key: $P/$1.key
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
KC
}
for c in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$c"; done
export KUBECONFIG=$UP_DIR/admin.kubeconfig
kubectl() { "$KB/kubectl" "$@"; }

# start NAME COMMAND...: writes $UP_DIR/run/NAME.sh, which runs COMMAND in
# its own session (log appended to $LOGS/NAME.log, pid in
# $UP_DIR/run/NAME.pid, read by hack/down.sh), and runs it. Restarting a
# component (the e2e suite restarts the kubelet) is running NAME.sh again.
start() {
  local name=$1; shift
  {
    echo '#!/usr/bin/env bash'
    printf 'setsid'; printf ' %q' "$@"; printf ' >>%q 2>&1 </dev/null &\n' "$LOGS/$name.log"
    printf 'echo $! >%q\n' "$UP_DIR/run/$name.pid"
  } >"$UP_DIR/run/$name.sh"
  bash "$UP_DIR/run/$name.sh"
}
# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "$what not ready after ${secs}s"
    sleep 0.5
  done
}

step "containerd (runc $("$RUNC_BUILT" --version | awk 'NR==1 {print $3}') at $RUNC, cgroupfs, bridge CNI, local pause image)"
install -m 0755 "$RUNC_BUILT" "$RUNC.tmp" && mv -f "$RUNC.tmp" "$RUNC"
sysctl -qw net.ipv4.ip_forward=1
[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || sysctl -qw net.bridge.bridge-nf-call-iptables=1
# The agent's eBPF recorder pins its maps in the host's BPF filesystem so
# that an agent restart loses nothing; systemd mounts it on most
# distributions, this host may not have it.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
cat >"$UP_DIR/cni/net.d/10-seccomp-operator-up.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "seccomp-operator-up",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$UP_DIR/cni/ipam",
               "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
cat >"$UP_DIR/containerd.toml" <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/seccomp-operator/pause:dev"
  # The machine's own processes may sit at a negative oom_score_adj the
  # sandbox cannot lower further.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$RUNC"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$UP_DIR/cni/net.d"
TOML
start containerd containerd --config "$UP_DIR/containerd.toml"
wait_for containerd 30 ctr version
for t in _out/images/*.tar; do
  ctr -n k8s.io images import --no-unpack=false "$t" >>"$LOGS/images.log" 2>&1 || die "import $t"
done

step "etcd and kube-apiserver"
start etcd "$KB/etcd" --name "$NODE" --data-dir "$UP_DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$NODE=http://127.0.0.1:2380"
start kube-apiserver "$KB/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$IP" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP \
  --allow-privileged=true --profiling=false
wait_for kube-apiserver 90 kubectl get --raw /readyz

step "kube-controller-manager and kube-scheduler"
start kube-controller-manager "$KB/kube-controller-manager" \
  --kubeconfig="$UP_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$UP_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$UP_DIR/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --use-service-account-credentials=true --allocate-node-cidrs=false \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key"
start kube-scheduler "$KB/kube-scheduler" \
  --kubeconfig="$UP_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$UP_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig="$UP_DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

step "kubelet (confined by the kubelet profile) and kube-proxy (by kube-proxy)"
cat >"$UP_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# One node on a shared disk: evict only when it is really full.
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 97
YAML
cat >"$UP_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $UP_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
YAML
# Each runs enforced by its predefined profile with every denial audited
# (seccompctl run --log); the audit login uid marks its process tree.
echo "seccomp-operator-up: started $(date -u +%FT%TZ)" >/dev/kmsg || true
start kubelet sh -c 'echo "$0" 2>/dev/null >/proc/self/loginuid || true; exec "$@"' $KUBELET_AUID \
  "$repo/bin/seccompctl" run --log --profile kubelet -- "$KB/kubelet" --config="$UP_DIR/kubelet.yaml" \
  --kubeconfig="$UP_DIR/kubelet.kubeconfig" --root-dir="$KUBELET_ROOT" \
  --hostname-override="$NODE" --node-ip="$IP"
start kube-proxy sh -c 'echo "$0" 2>/dev/null >/proc/self/loginuid || true; exec "$@"' $KUBE_PROXY_AUID \
  "$repo/bin/seccompctl" run --log --profile kube-proxy -- "$KB/kube-proxy" --config="$UP_DIR/kube-proxy.yaml"
wait_for "node $NODE" 120 kubectl wait --for=condition=Ready "node/$NODE" --timeout=2s
wait_for "default service account" 60 kubectl -n default get serviceaccount default

step "The operator, deployed from config/default (agent told where the runc is: hack/up)"
kubectl apply --server-side -k hack/up >"$LOGS/deploy.log"
kubectl -n seccomp-operator rollout status deployment/seccomp-operator-manager --timeout=180s >>"$LOGS/deploy.log" ||
  die "manager not ready (kubectl -n seccomp-operator describe pods)"
kubectl -n seccomp-operator rollout status daemonset/seccomp-operator-agent --timeout=180s >>"$LOGS/deploy.log" ||
  die "agent not ready (kubectl -n seccomp-operator describe pods)"
wait_for "the webapp profile on the node" 120 \
  kubectl wait --for=condition=Installed seccompprofile/webapp --timeout=2s

step "Demo: Debian's nginx under the webapp profile"
kubectl apply -f hack/demo/webapp.yaml >>"$LOGS/deploy.log"
kubectl -n seccomp-demo rollout status deployment/webapp --timeout=120s >>"$LOGS/deploy.log" ||
  die "demo not ready (kubectl -n seccomp-demo describe pods)"
svc=$(kubectl -n seccomp-demo get service webapp -o jsonpath='{.spec.clusterIP}')
wait_for "http://$svc/" 30 curl -fsS "http://$svc/"
pod=$(kubectl -n seccomp-demo get pods -l app=webapp -o jsonpath='{.items[0].metadata.name}')
cid=$(kubectl -n seccomp-demo get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}')
pid=$(ctr -n k8s.io tasks ls | awk -v id="${cid#containerd://}" '$1 == id {print $2}')
seccomp=$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")
[ "$seccomp" = 2 ] || die "nginx (pid $pid) has Seccomp: $seccomp, want 2"

step "Demo: a denied mkdir, seen as a metric and an Event"
kubectl apply -f hack/demo/denied.yaml >>"$LOGS/deploy.log"
wait_for "the demo-deny-mkdir profile on the node" 120 \
  kubectl wait --for=condition=Installed seccompprofile/demo-deny-mkdir --timeout=2s
kubectl -n seccomp-demo wait --for=condition=Ready pod/denied --timeout=120s >>"$LOGS/deploy.log" ||
  die "the denied pod is not ready (kubectl -n seccomp-demo describe pod denied)"
# A metrics reader's token, as a Prometheus would present it.
kubectl -n seccomp-demo create serviceaccount metrics-reader --dry-run=client -o yaml | kubectl apply -f - >>"$LOGS/deploy.log"
kubectl create clusterrolebinding seccomp-demo-metrics-reader --clusterrole=seccomp-operator-metrics-reader \
  --serviceaccount=seccomp-demo:metrics-reader --dry-run=client -o yaml | kubectl apply -f - >>"$LOGS/deploy.log"
agent_ip=$(kubectl -n seccomp-operator get pods -l app.kubernetes.io/name=seccomp-operator-agent -o jsonpath='{.items[0].status.podIP}')
token=$(kubectl -n seccomp-demo create token metrics-reader)
denials="curl -fsSk -H 'Authorization: Bearer $token' https://$agent_ip:8443/metrics | grep 'seccomp_violations_total{.*pod=\"denied\"'"
wait_for "the denials in seccomp_violations_total (kubectl -n seccomp-operator logs ds/seccomp-operator-agent)" 60 sh -c "$denials"
wait_for "the SeccompDenied Event on the pod" 60 \
  sh -c "$KB/kubectl -n seccomp-demo get events --field-selector involvedObject.name=denied,reason=SeccompDenied -o name | grep -q ."
sh -c "$denials"
kubectl -n seccomp-demo get events --field-selector involvedObject.name=denied,reason=SeccompDenied

cat <<TXT

The cluster is up in $((SECONDS - start_time)) s: node $NODE, the operator running, nginx confined.
Its logs (every component) are in $LOGS.

  export KUBECONFIG=$KUBECONFIG PATH=$repo/bin:\$PATH
  kubectl get seccompprofiles                       the profiles and on how many nodes each is installed
  kubectl get seccompnodestatuses $NODE -o yaml     what the agent installed on this node
  ls $KUBELET_ROOT/seccomp/operator                 the files the kubelet reads
  kubectl -n seccomp-demo get pods -o wide          nginx, under localhost/operator/webapp.json
  curl http://$svc/                          nginx answering through its Service
  grep Seccomp: /proc/$pid/status                   the kernel confines it: Seccomp: 2 (filter)
  kubectl -n seccomp-demo describe pod denied       a denied mkdir, in words, as an Event with its count
  curl -sk -H "Authorization: Bearer \$(kubectl -n seccomp-demo create token metrics-reader)" https://$agent_ip:8443/metrics | grep seccomp_violations_total
  kubectl get seccompnodestatuses $NODE -o jsonpath='{.status.containers}'   every container's real seccomp mode
  make test-e2e                                     the end-to-end suite against this cluster
  make down                                         stop and remove all of it
TXT
