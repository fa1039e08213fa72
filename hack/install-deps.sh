#!/usr/bin/env bash
# Installs the Debian packages the tests and the local cluster need.
# Idempotent and quick when everything is present; needs root (or sudo)
# otherwise.
#   hack/install-deps.sh            everything make test needs (the e2e suite included)
#   hack/install-deps.sh cluster    only what make up needs
#   hack/install-deps.sh generate   only what make generate needs
set -euo pipefail

cluster=(
  containerd runc                # the container runtime make up's kubelet drives
  gcc pkg-config libseccomp-dev  # make up's pinned runc (hack/runc.sh) builds with cgo and libseccomp
  containernetworking-plugins    # bridge, host-local, portmap, loopback
  iptables conntrack             # kube-proxy (iptables mode) and the bridge's masquerade
  openssl curl iproute2 procps   # certificates; the demo's HTTP check; ip; pkill
  nginx-light                    # the demo workload's nginx, packed into an image
  postgresql redis-server        # the recording proof's servers (test/workloads), packed into images
  redis-tools wrk                # its load clients (pgbench comes with postgresql), packed into demo-load
  make
)
# hack/gensyscalls reads kernel UAPI headers that only these packages ship;
# its error messages point here when one is missing. bpf2go compiles the
# eBPF recorder (pkg/seccomp/recording/bpfrec) with clang against libbpf's
# headers and strips it with llvm-strip; the committed object is what
# Debian 12's clang 14 makes, so verify-generated compares like with like.
generate=(
  linux-libc-dev                 # asm/unistd_x32.h: source of the x32 syscall table
  linux-libc-dev-armhf-cross     # ARM asm/unistd.h: ARM private syscalls (set_tls, ...)
  clang llvm libbpf-dev          # bpf2go: clang -target bpf, llvm-strip, bpf/bpf_helpers.h
)
all=(
  gcc make git ca-certificates   # toolchain (cgo for the libseccomp differential test only)
  "${generate[@]}"
  libseccomp-dev seccomp         # reference compiler for the differential test and benchmarks
  nginx-light wrk curl           # webapp profile proof
  postgresql postgresql-contrib redis-server  # database profile proof (pgbench is in postgresql-contrib)
  prometheus-node-exporter       # system profile proof
  strace procps util-linux
  "${cluster[@]}"
)
case "${1:-all}" in
  all) pkgs=("${all[@]}") ;;
  cluster) pkgs=("${cluster[@]}") ;;
  generate) pkgs=("${generate[@]}") ;;
  *) echo "install-deps: unknown set \"$1\" (all, cluster, generate)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package post-install scripts try to start services; tests start their own
# servers on free ports, so keep the system ones from being started.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
