#!/usr/bin/env bash
# Provides pinned Kubernetes binaries and etcd for tests (envtest, our own
# launcher, the scale benchmark) and prints the directory holding them, which
# is suitable as KUBEBUILDER_ASSETS:
#
#   export KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh)                 # kube-apiserver etcd
#   hack/kube-binaries.sh kube-apiserver etcd kubelet kubectl
#
# No release tarballs are reachable from this project's machines, so the
# Kubernetes components are built from the Go module proxy: k8s.io/kubernetes
# cannot be built as a plain dependency because its go.mod points its 30-odd
# staging modules (k8s.io/api, k8s.io/apiserver, ...) at ./staging/src, which
# does not exist in the module zip. A throw-away module replaces each of them
# with the published k8s.io/<x> v0.<minor>.<patch> of the same release.
#
# etcd is Debian's etcd-server (/usr/bin/etcd) when installed, otherwise it is
# built from go.etcd.io/etcd/server/v3 on the proxy.
#
# Binaries are cached by version outside the checkout
# (${XDG_CACHE_HOME:-$HOME/.cache}/seccomp-operator/kube/<version>/) so fresh
# clones and repeated runs reuse them; when everything requested is present
# the script prints the directory without touching the network or Go.
#
# Environment: KUBE_VERSION (default v1.37.2), ETCD_VERSION (default v3.6.16,
# used only when Debian's etcd is absent), GO (default go).
# Only the directory goes to stdout; progress goes to stderr.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
GO=${GO:-go}
root="${XDG_CACHE_HOME:-$HOME/.cache}/seccomp-operator"
dir="$root/kube/$KUBE_VERSION"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd)

kube_cmds=()
want_etcd=false
for c in "${components[@]}"; do
  case "$c" in
    kube-apiserver|kubelet|kube-controller-manager|kube-scheduler|kube-proxy|kubectl) kube_cmds+=("$c") ;;
    etcd) want_etcd=true ;;
    *) echo "kube-binaries: unknown component \"$c\" (known: kube-apiserver etcd kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)" >&2; exit 2 ;;
  esac
done

# have NAME: the cached binary exists and is executable (a dangling etcd
# symlink, e.g. after Debian's etcd-server was removed, counts as missing).
have() { [ -x "$dir/$1" ] && [ -f "$dir/$1" ]; }

all_present() {
  local c
  for c in "${components[@]}"; do have "$c" || return 1; done
}

# Fast path: no lock, no Go, no network.
if all_present; then echo "$dir"; exit 0; fi

mkdir -p "$dir"
# Concurrent callers (parallel test packages, CI jobs sharing a cache) must
# not build the same thing twice or see a half-written binary: serialise on a
# lock and re-check after getting it.
exec 9>"$dir/.lock"
flock 9
if all_present; then echo "$dir"; exit 0; fi

log() { echo "kube-binaries: $*" >&2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube-binaries.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build_kube() {
  local missing=() c
  for c in "${kube_cmds[@]}"; do have "$c" || missing+=("$c"); done
  [ ${#missing[@]} -gt 0 ] || return 0

  # v1.37.2 → staging modules at v0.37.2, version ldflags major 1 minor 37.
  local ver=${KUBE_VERSION#v}
  local major=${ver%%.*} rest=${ver#*.}
  local minor=${rest%%.*}
  local staging_ver="v0.${rest}"
  local start=$SECONDS
  log "building ${missing[*]} $KUBE_VERSION from the module proxy (several minutes on 2 cores)"

  local gomod
  gomod=$(cd "$tmp" && GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -n "$gomod" ] && [ -f "$gomod" ] || { log "go mod download k8s.io/kubernetes@$KUBE_VERSION gave no go.mod"; exit 1; }
  local staging
  staging=$(sed -n 's#^[[:space:]]*\(replace[[:space:]]\+\)\?\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/src/.*#\2#p' "$gomod" | sort -u)
  [ -n "$staging" ] || { log "no staging replace lines in $gomod"; exit 1; }
  log "$(echo "$staging" | wc -l) staging modules replaced by their $staging_ver releases"

  local m="$tmp/kube"
  mkdir -p "$m"
  {
    echo "module kubebinaries"
    echo
    echo "go $("$GO" env GOVERSION | sed 's/^go//')"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    for c in "${missing[@]}"; do echo "tool k8s.io/kubernetes/cmd/$c"; done
    echo
    for s in $staging; do echo "replace $s => $s $staging_ver"; done
  } >"$m/go.mod"
  # go mod tidy is fine here: this module is thrown away after the build.
  (cd "$m" && "$GO" mod tidy) >&2

  local pkgs=()
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  mkdir -p "$m/bin"
  (cd "$m" && CGO_ENABLED=0 "$GO" build -trimpath -o bin/ \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    "${pkgs[@]}") >&2
  # mv within one file system is atomic: a reader sees the old name missing or
  # the full binary, never a partial one.
  for c in "${missing[@]}"; do
    cp "$m/bin/$c" "$dir/.$c.tmp" && mv -f "$dir/.$c.tmp" "$dir/$c"
  done
  log "built ${missing[*]} in $((SECONDS - start)) s"
}

provide_etcd() {
  $want_etcd || return 0
  have etcd && return 0
  if [ -x /usr/bin/etcd ] && /usr/bin/etcd --version >/dev/null 2>&1; then
    log "using Debian's /usr/bin/etcd ($(/usr/bin/etcd --version | head -1))"
    ln -sfn /usr/bin/etcd "$dir/etcd"
    return 0
  fi
  # Cached on its own so a new Kubernetes version does not rebuild etcd.
  local edir="$root/etcd/$ETCD_VERSION"
  if ! [ -x "$edir/etcd" ]; then
    local start=$SECONDS
    log "building etcd $ETCD_VERSION from the module proxy"
    local m="$tmp/etcd"
    mkdir -p "$m" "$edir"
    (cd "$m" && "$GO" mod init etcdbinary && "$GO" get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
      CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o etcd go.etcd.io/etcd/server/v3) >&2 2>&1
    cp "$m/etcd" "$edir/.etcd.tmp" && mv -f "$edir/.etcd.tmp" "$edir/etcd"
    log "built etcd in $((SECONDS - start)) s"
  fi
  ln -sfn "$edir/etcd" "$dir/etcd"
}

build_kube
provide_etcd
all_present || { log "missing after build: ${components[*]}"; exit 1; }
echo "$dir"
