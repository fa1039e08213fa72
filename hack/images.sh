#!/usr/bin/env bash
# Builds the images make up runs, without a Docker engine or a registry, as
# docker-archive tarballs in OUT (default _out/images), one per image:
#   pause       the pod sandbox (containerd's sandbox_image)
#   manager     cmd/manager        seccomp-operator/manager:dev
#   agent       cmd/agent          seccomp-operator/agent:dev
#   demo-nginx  Debian's nginx-light from this machine, with its libraries
#   demo-postgres, demo-redis  Debian's PostgreSQL and Redis servers, likewise
#   demo-load   the load clients wrk, pgbench and redis-benchmark, and a shell
#   e2e-probe   test/e2e/probe     the end-to-end suite's container (and /probe32, i386)
# Each image is one layer packed by hack/imagebuild; the Go binaries are
# static (CGO_ENABLED=0) so their images hold nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-_out/images}
GO=${GO:-go}
mkdir -p "$OUT"
work=$(mktemp -d "${TMPDIR:-/tmp}/images.XXXXXX")
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 "$GO" build -trimpath -o "$work/bin/" ./hack/imagebuild ./hack/pause ./cmd/manager ./cmd/agent ./test/e2e/probe
ib="$work/bin/imagebuild"

# static NAME TAG BINARY [imagebuild flags]: an image holding one binary.
static() {
  local name=$1 tag=$2 bin=$3; shift 3
  mkdir -p "$work/$name/tmp"
  chmod 1777 "$work/$name/tmp"
  cp "$work/bin/$bin" "$work/$name/$bin"
  "$ib" -root "$work/$name" -tag "$tag" -o "$OUT/$name.tar" -entrypoint "/$bin" "$@"
}
static pause seccomp-operator/pause:dev pause
static manager seccomp-operator/manager:dev manager -user 65532:65532
static agent seccomp-operator/agent:dev agent
# The probe also as a 32-bit (i386) binary, /probe32: the e2e suite's
# i386 process, whose seccomp records carry AUDIT_ARCH_I386 and i386
# syscall numbers.
mkdir -p "$work/e2e-probe"
CGO_ENABLED=0 GOARCH=386 "$GO" build -trimpath -o "$work/e2e-probe/probe32" ./test/e2e/probe
static e2e-probe seccomp-operator/e2e-probe:dev probe

# with_libs ROOT FILE...: each file at its own path under ROOT, with the
# libraries ldd names (the loader included).
with_libs() {
  local root=$1 f; shift
  for f in "$@"; do
    cp -L --parents "$f" "$root/"
    ldd "$f" | grep -o '/[^ ]*' | xargs cp -L --parents -t "$root/"
  done
}
# need BINARY PACKAGE: fails with the package to install when BINARY is missing.
need() { [ -x "$1" ] || command -v "$1" >/dev/null || { echo "images: $1 missing (hack/install-deps.sh cluster installs $2)" >&2; exit 1; }; }

# nginx: the binary, its libraries, Debian's mime types, users for root and
# www-data, and the directories it writes.
need nginx nginx-light
r="$work/nginx"
mkdir -p "$r"/{etc/nginx,run,tmp,var/log/nginx,var/lib/nginx,var/www/html}
chmod 1777 "$r/tmp"
nginx_bin=$(command -v nginx)
with_libs "$r" "$nginx_bin"
cp /etc/nginx/mime.types "$r/etc/nginx/"
cp hack/demo/nginx.conf "$r/etc/nginx/nginx.conf"
cp hack/demo/nginx-unprivileged.conf "$r/etc/nginx/nginx-unprivileged.conf"
# Temp files and the compiled-in log path, for nginx run as any user.
chmod 1777 "$r/var/lib/nginx" "$r/var/log/nginx"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$r/etc/passwd"
printf 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' >"$r/etc/group"
cat >"$r/var/www/html/index.html" <<'HTML'
<!doctype html>
<title>seccomp-operator demo</title>
<p>Served by Debian's nginx under the seccomp-operator <code>webapp</code> profile.</p>
HTML
"$ib" -root "$r" -tag seccomp-operator/demo-nginx:dev -o "$OUT/demo-nginx.tar" \
  -entrypoint "$nginx_bin" -cmd -c -cmd /etc/nginx/nginx.conf

# The workloads of the recording proof (test/workloads), all from Debian.
# Debian's PostgreSQL lives in /usr/lib/postgresql/<major>: the newest here.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
need "$pgbin/postgres" postgresql
need "$pgbin/pgbench" postgresql
pgmajor=$(basename "$(dirname "$pgbin")")
need redis-server redis-server
need redis-benchmark redis-tools
need wrk wrk

# postgres: the server and initdb with their libraries, the share files
# initdb reads (postgres.bki, the system SQL, timezone sets) without the
# manuals, the server's loadable modules without the LLVM JIT (it would pull
# in libLLVM; the entrypoint turns jit off), the UTC zone, dash as /bin/sh
# (initdb runs the server through popen), and the postgres user as uid 999,
# the uid of the postgres images people know. The entrypoint is
# hack/demo/postgres-entrypoint.sh.
r="$work/postgres"
mkdir -p "$r"/{tmp,etc,bin,usr/lib/postgresql/$pgmajor/lib,var/lib/postgresql/data}
chmod 1777 "$r/tmp"
with_libs "$r" "$pgbin/postgres" "$pgbin/initdb" /bin/dash
cp /bin/dash "$r/bin/sh"
cp /usr/lib/postgresql/"$pgmajor"/lib/*.so "$r/usr/lib/postgresql/$pgmajor/lib/"
rm -f "$r/usr/lib/postgresql/$pgmajor/lib/llvmjit.so"
mkdir -p "$r/usr/share/postgresql"
cp -r "/usr/share/postgresql/$pgmajor" "$r/usr/share/postgresql/"
rm -rf "$r/usr/share/postgresql/$pgmajor/man"
cp -L --parents /usr/share/zoneinfo/Etc/UTC /usr/share/zoneinfo/UTC "$r/"
sed "s|@PGBIN@|$pgbin|" hack/demo/postgres-entrypoint.sh >"$r/bin/postgres-entrypoint"
chmod 0755 "$r/bin/postgres-entrypoint"
chmod 1777 "$r/var/lib/postgresql/data"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\npostgres:x:999:\n' >"$r/etc/group"
"$ib" -root "$r" -tag seccomp-operator/demo-postgres:dev -o "$OUT/demo-postgres.tar" \
  -user 999:999 -env TZ=UTC -env PGDATA=/var/lib/postgresql/data/pgdata -entrypoint /bin/postgres-entrypoint

# redis: the server with its libraries, nothing saved to disk, unprotected
# (it answers the pod network; the pod is the boundary), as uid 999.
r="$work/redis"
mkdir -p "$r"/{tmp,etc}
chmod 1777 "$r/tmp"
with_libs "$r" "$(command -v redis-server)"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nredis:x:999:999:redis:/tmp:/usr/sbin/nologin\n' >"$r/etc/passwd"
printf 'root:x:0:\nredis:x:999:\n' >"$r/etc/group"
"$ib" -root "$r" -tag seccomp-operator/demo-redis:dev -o "$OUT/demo-redis.tar" -user 999:999 -workdir /tmp \
  -entrypoint "$(command -v redis-server)" -cmd --protected-mode -cmd no -cmd --port -cmd 6379 \
  -cmd --save -cmd '' -cmd --appendonly -cmd no

# load: wrk, pgbench and redis-benchmark with their libraries, dash as
# /bin/sh, sleep, which keeps the pod up for kubectl exec, and timeout,
# which ends a client that hangs (redis-benchmark retries a refused
# connection forever) even when its kubectl exec is gone.
r="$work/load"
mkdir -p "$r"/{tmp,etc,bin}
chmod 1777 "$r/tmp"
with_libs "$r" "$(command -v wrk)" "$pgbin/pgbench" "$(command -v redis-benchmark)" /bin/dash /bin/sleep /bin/timeout
cp /bin/dash "$r/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
"$ib" -root "$r" -tag seccomp-operator/demo-load:dev -o "$OUT/demo-load.tar" \
  -env "PATH=$pgbin:/usr/local/bin:/usr/bin:/bin" -entrypoint /bin/sleep -cmd infinity
ls "$OUT"/*.tar
