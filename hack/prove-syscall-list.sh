#!/usr/bin/env bash
# Regenerates bench/testdata/workload-syscalls.txt: every syscall the profile
# proof workloads (nginx under wrk, PostgreSQL initdb/server under pgbench,
# redis under redis-benchmark with BGSAVE/BGREWRITEAOF, node-exporter
# scraped) really make, as "name count" lines for the x86_64 ABI, most
# frequent first. The benchmarks weight their per-syscall cost by it.
#
# It runs the same workloads as `make test-profiles`, without seccompctl and
# under `strace -f -c` (PROVE_STRACE_DIR), so it needs root, strace and the
# servers (make deps). Each run also checks, with the reference evaluator,
# that its profile allows every syscall strace saw. Counts vary from run to
# run; the set of names should not.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/testdata/workload-syscalls.txt}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 1777 "$dir"

PROVE_STRACE_DIR="$dir" go test -count=1 -tags proof -timeout 20m \
  -run 'TestWebappNginx|TestDatabasePostgres|TestDatabaseRedis|TestSystemNodeExporter' ./test/profiles/

shopt -s nullglob
files=("$dir"/*.strace)
[ ${#files[@]} -gt 0 ] || { echo "prove-syscall-list: no strace summaries in $dir" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
# strace -c tables: "% time  seconds  usecs/call  calls  [errors]  syscall".
# A "System call usage summary for 32 bit mode" (or x32) header starts a
# table of another ABI: only the x86_64 (default personality) rows count.
awk '
  FNR == 1 { abi64 = 1 }
  /summary for/ { abi64 = ($0 !~ /32 bit|x32/) ; next }
  abi64 && $1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" { n[$NF] += $4 }
  END { for (s in n) print s, n[s] }
' "${files[@]}" | sort -k2,2nr -k1,1 > "$out"
echo "prove-syscall-list: wrote $(wc -l < "$out") syscalls from ${#files[@]} programs to $out"
