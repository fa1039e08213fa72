#!/usr/bin/env bash
# Provides a pinned runc, built from the Go module proxy, and prints its path:
#
#   hack/runc.sh                      # e.g. ~/.cache/seccomp-operator/runc/v1.5.3/runc
#
# make up's containerd runs pods with it (hack/up.sh) instead of Debian 12's
# runc 1.1.5, which refuses every seccomp flag ("seccomp flags are not yet
# supported by runc"): the operator's profiles carry SECCOMP_FILTER_FLAG_LOG so
# that the kernel audits their denials, and runc takes flags from 1.2.0
# (design/runtime-seccomp-flags.md).
#
# runc needs cgo and libseccomp (its seccomp support is the libseccomp Go
# binding): Debian's libseccomp-dev, gcc and pkg-config, which
# hack/install-deps.sh cluster installs. The binary links libseccomp
# dynamically, like Debian's own runc.
#
# Cached by version outside the checkout
# (${XDG_CACHE_HOME:-$HOME/.cache}/seccomp-operator/runc/<version>/runc); when
# it is there the script prints the path without touching Go or the network.
#
# Environment: RUNC_VERSION (default v1.5.3), GO (default go).
# Only the path goes to stdout; progress goes to stderr.
set -euo pipefail

RUNC_VERSION=${RUNC_VERSION:-v1.5.3}
GO=${GO:-go}
dir="${XDG_CACHE_HOME:-$HOME/.cache}/seccomp-operator/runc/$RUNC_VERSION"
bin=$dir/runc

if [ -x "$bin" ] && [ -f "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$dir"
# Concurrent callers must not build twice or see a half-written binary.
exec 9>"$dir/.lock"
flock 9
if [ -x "$bin" ] && [ -f "$bin" ]; then echo "$bin"; exit 0; fi

log() { echo "runc: $*" >&2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
log "building runc $RUNC_VERSION from the module proxy (cgo, libseccomp)"
# go install puts the binary in GOBIN; a throw-away GOBIN keeps the user's
# own GOPATH/bin untouched. GOFLAGS=-mod=mod: outside any module.
(cd "$tmp" && GOBIN="$tmp/bin" CGO_ENABLED=1 GOFLAGS=-mod=mod \
  "$GO" install -tags seccomp "github.com/opencontainers/runc@$RUNC_VERSION") >&2
# The build must have seccomp: without libseccomp, runc builds but every
# container that asks for a profile fails to start.
"$tmp/bin/runc" --version | grep -q '^libseccomp: ' ||
  { log "runc $RUNC_VERSION was built without seccomp (is libseccomp-dev installed? hack/install-deps.sh cluster)"; exit 1; }
# mv within one file system is atomic.
cp "$tmp/bin/runc" "$dir/.runc.tmp" && mv -f "$dir/.runc.tmp" "$bin"
log "built runc $RUNC_VERSION in $((SECONDS - start)) s"
echo "$bin"
