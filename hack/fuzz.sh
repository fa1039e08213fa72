#!/usr/bin/env bash
# Runs every fuzz target of pkg/ and internal/ for FUZZTIME (default 30s; a
# count such as 100000x also works, and avoids go1.26's end-of-fuzztime
# flake). Each package's fuzz-instrumented test binary is built once and
# runs each of its targets in turn, in the package's directory (where its
# testdata/fuzz corpus is) and with go test's own corpus cache, so a
# package with three targets is compiled and linked once, not three times.
set -euo pipefail
GO=${GO:-go}
cache=$($GO env GOCACHE)/fuzz
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# One go list for every package and its directory (fd 3: the fuzz binaries
# keep the script's stdin).
pkgs=$($GO list -f '{{.ImportPath}} {{.Dir}}' ./pkg/... ./internal/...)
while read -r pkg dir <&3; do
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' || true)
	[ -n "$targets" ] || continue
	$GO test -c -fuzz=. -o "$bin/pkg.test" "$pkg"
	for t in $targets; do
		echo "== $t ($pkg)"
		(cd "$dir" && "$bin/pkg.test" -test.run='^$' -test.fuzz="^$t\$" -test.fuzztime="${FUZZTIME:-30s}" -test.fuzzcachedir="$cache/$pkg")
	done
done 3<<<"$pkgs"
