#!/usr/bin/env bash
# make down: stops everything hack/up.sh started and removes its state: the
# processes (by their pid files), every container and its cgroups, mounts
# under the kubelet's root and containerd's directories, kube-proxy's and the
# CNI bridge's iptables rules, the cni0 bridge and the state directory.
# Caches (Kubernetes binaries, Go) stay. --quiet: say nothing (used by up).
set -uo pipefail
cd "$(dirname "$0")/.."
UP_DIR=${UP_DIR:-/var/lib/seccomp-operator-up}
KUBELET_ROOT=/var/lib/kubelet
quiet=false
[ "${1:-}" = --quiet ] && quiet=true
say() { $quiet || echo "down: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { echo "down: needs root" >&2; exit 1; }

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
  local f=$UP_DIR/run/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
# The kubelet first, so that nothing restarts containers; etcd last.
for c in kubelet kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done

# Every container process lives in a kubepods cgroup: kill them all, then
# containerd and its shims, then remove the cgroups (deepest first).
pids=$(find /sys/fs/cgroup -path '*kubepods*' -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
[ -z "$pids" ] || { say "killing $(echo "$pids" | wc -l) container processes"; kill -KILL $pids 2>/dev/null; }
stop containerd
pkill -KILL -f containerd-shim-runc-v2 2>/dev/null
sleep 0.2
find /sys/fs/cgroup -depth -mindepth 2 -type d -path '*kubepods*' -exec rmdir {} + 2>/dev/null

# Mounts: pod volumes, container root file systems, network namespaces.
awk '{print $2}' /proc/mounts | grep -E "^($KUBELET_ROOT|/run/containerd|/var/lib/containerd|/run/netns)(/|$)" |
  sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null; done

# Network: kube-proxy's rules, the bridge plugin's masquerade chains, cni0.
if [ -x "$UP_DIR/kube-proxy" ]; then
  "$UP_DIR/kube-proxy" --cleanup >/dev/null 2>&1
fi
# What remains: the kubelet's KUBE-FIREWALL/KUBE-KUBELET-CANARY and the
# bridge plugin's CNI-* masquerade chains. Unhook them from the built-in
# chains, then flush and delete them.
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for t in filter nat mangle; do
    $ipt -t $t -S 2>/dev/null | grep -E -- '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-)' |
      sed 's/^-A /-D /' | while read -r rule; do eval "$ipt -t $t $rule" 2>/dev/null; done
    chains=$($ipt -t $t -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}')
    for ch in $chains; do $ipt -t $t -F "$ch" 2>/dev/null; done
    for ch in $chains; do $ipt -t $t -X "$ch" 2>/dev/null; done
  done
done
ip link delete cni0 2>/dev/null

# State. The kubelet root and containerd's directories are removed only when
# make up created them (its marker), never a kubelet's that was here before.
if [ -f "$KUBELET_ROOT/.seccomp-operator-up" ]; then
  rm -rf "$KUBELET_ROOT" /var/lib/containerd /run/containerd
fi
rm -rf "$UP_DIR"
# The pinned runc make up installed for containerd (its cache stays).
rm -f /usr/local/sbin/runc-seccomp-operator
say "done"
