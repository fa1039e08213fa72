#!/usr/bin/env bash
# The README's "run the product" command (make demo), until the local cluster
# exists: confine real programs with the predefined webapp profile and show
# that the kernel enforces it. Exits non-zero if anything does not behave.
set -euo pipefail
cd "$(dirname "$0")/.."
B=bin/seccompctl
[ -x "$B" ] || { echo "demo: $B missing: run make build" >&2; exit 1; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "The predefined profiles"
$B profiles

step "Validate the webapp profile ($(ls profiles/kubernetes/seccomp-k8s-webapp-profile.json))"
$B validate profiles/kubernetes/seccomp-k8s-webapp-profile.json | tail -1

step "What the compiled program does with two syscalls"
$B simulate webapp --syscall accept4
$B simulate webapp --syscall ptrace

step "A shell confined by webapp: the kernel reports filter mode 2"
status=$($B run --profile webapp -- sh -c 'grep ^Seccomp: /proc/self/status')
echo "$status"
[ "$status" = "$(printf 'Seccomp:\t2')" ] || { echo "demo: expected Seccomp: 2" >&2; exit 1; }

step "A syscall webapp denies (chroot) really fails with EPERM"
if out=$($B run --profile webapp -- chroot / true 2>&1); then
  echo "demo: chroot succeeded under webapp" >&2; exit 1
fi
echo "$out"
echo "$out" | grep -q "Operation not permitted" || { echo "demo: expected EPERM" >&2; exit 1; }

step "Complain mode: nothing is denied, everything webapp would deny is listed"
$B run --profile webapp --complain -- sh -c 'chroot / true 2>/dev/null; unshare --mount true 2>/dev/null; echo "the command ran to the end"'

cat <<'TXT'

What to look at next:
  bin/seccompctl compile webapp | less          the BPF program the kernel runs
  bin/seccompctl diff webapp database           what one profile allows that the other does not
  bin/seccompctl run --profile webapp --complain -- YOUR-SERVER
                                                which syscalls your server needs that webapp denies
  profiles/kubernetes/*.json                    the predefined profiles as plain OCI seccomp JSON
TXT
