#!/usr/bin/env bash
# Builds the images make up runs, without a Docker engine or a registry, as
# docker-archive tarballs in OUT (default _out/images), one per image:
#   pause       the pod sandbox (containerd's sandbox_image)
#   manager     cmd/manager        seccomp-operator/manager:dev
#   agent       cmd/agent          seccomp-operator/agent:dev
#   demo-nginx  Debian's nginx-light from this machine, with its libraries
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

# nginx: the binary, the libraries ldd names (the loader included), Debian's
# mime types, users for root and www-data, and the directories it writes.
command -v nginx >/dev/null || { echo "images: nginx missing (apt-get install nginx-light)" >&2; exit 1; }
r="$work/nginx"
mkdir -p "$r"/{etc/nginx,run,tmp,var/log/nginx,var/lib/nginx,var/www/html}
chmod 1777 "$r/tmp"
nginx_bin=$(command -v nginx)
for f in "$nginx_bin" $(ldd "$nginx_bin" | grep -o '/[^ ]*'); do
  cp -L --parents "$f" "$r/"
done
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
ls "$OUT"/*.tar
