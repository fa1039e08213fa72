#!/usr/bin/env bash
# Prints the path of CRI-O/Podman's default seccomp profile (containers/common),
# extracted from Debian's golang-github-containers-common-dev .deb without
# installing it (installing it would pull in ~300 packages, Debian's old Go
# toolchain among them). Cached by package version outside the checkout.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/seccomp-operator/crio"
pkg=golang-github-containers-common-dev
rel=usr/share/gocode/src/github.com/containers/common/pkg/seccomp/seccomp.json
if [ -f "/$rel" ]; then echo "/$rel"; exit 0; fi
ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
  apt-get update -qq >/dev/null
  ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
fi
out="$cache/$ver/seccomp.json"
if [ ! -f "$out" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "$pkg=$ver" >/dev/null)
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$(dirname "$out")"
  cp "$tmp/x/$rel" "$out"
fi
echo "$out"
