#!/usr/bin/env bash
# The README's two commands on a fresh machine: a minimal Debian root made with debootstrap that
# has only a C compiler (gcc, libc6-dev), plus this machine's Rust toolchain bind-mounted
# read-only; a clean clone of this repository's HEAD (committed work only) in it;
# then inside.sh runs the README's run command and its test command there (see inside.sh).
#
# Usage (as root, on Linux): contrib/fresh-machine/check.sh
# Environment:
#   FRESH_CACHE   kept between runs (default /var/cache/gearmand-fresh-machine): the pristine
#                 Debian root, remade only when the suite or package list changes, and the crates
#                 cargo downloaded. Each run works in a fresh copy of the pristine root of its own
#                 (run.XXXXXX there, removed after a pass, kept after a failure for its logs), so
#                 runs side by side do not disturb each other
#   FRESH_CLEAN=1 forget the pristine root and the crates first (a cold run; it waits for the
#                 runs using the cache to end)
#   FRESH_SUITE   Debian suite (default: this machine's codename, else bookworm)
#   FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#
# Each phase runs in new mount and PID namespaces (the mounts and every process go when it
# ends). The crates are fetched with the network (and this machine's CA certificates, lent
# read-only to cargo for that phase only); the two commands then run in a network
# namespace with only loopback, so no service of this machine is reachable (the tests that need
# one skip) and port 4730 is free. Exits 0 only if everything passed.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${FRESH_CACHE:-/var/cache/gearmand-fresh-machine}
SUITE=${FRESH_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")}
SUITE=${SUITE:-bookworm}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
PACKAGES=gcc,libc6-dev
CA_FILE=/etc/ssl/certs/ca-certificates.crt
BASE=$CACHE/base-$SUITE
INNER_PATH=/opt/rust/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

# PID 1 of the namespaces of one phase: the mounts the root needs, then the phase in the root.
enter() {
    local phase=$1 sysroot=$2 RUN=$3 cainfo=()
    if [ "$phase" = fetch ]; then
        touch "$RUN/opt/ca-certificates.crt"
        mount --bind -o ro "$CA_FILE" "$RUN/opt/ca-certificates.crt"
        cainfo=(CARGO_HTTP_CAINFO=/opt/ca-certificates.crt)
    else
        ip link set lo up
    fi
    mount -t proc proc "$RUN/proc"
    mount --rbind /dev "$RUN/dev"
    mount --rbind /sys "$RUN/sys"
    mkdir -p "$RUN/opt/rust" "$RUN/root/.cargo"
    mount --bind "$sysroot" "$RUN/opt/rust"
    mount -o remount,bind,ro "$RUN/opt/rust"
    mount --bind "$CACHE/cargo-home" "$RUN/root/.cargo"
    exec chroot "$RUN" /usr/bin/env -i HOME=/root USER=root LOGNAME=root TERM=dumb \
        LANG=C.UTF-8 PATH="$INNER_PATH" CARGO_HOME=/root/.cargo CARGO_TERM_COLOR=never "${cainfo[@]}" \
        /bin/bash /root/gearmand/contrib/fresh-machine/inside.sh "$phase"
}
if [ "${1:-}" = --enter ]; then
    enter "$2" "$3" "$4"
fi

# One phase in fresh namespaces: `fetch` keeps this machine's network, the others get their own.
phase() {
    local name=$1 start=$SECONDS net=(--net)
    [ "$name" = fetch ] && net=()
    say "phase $name"
    unshare --mount --propagation private --pid --fork --kill-child "${net[@]}" -- \
        "$HERE/check.sh" --enter "$name" "$SYSROOT" "$RUN" || die "phase $name failed"
    printf '=== phase %s: %d s\n' "$name" $((SECONDS - start))
    TIMES+=("$name $((SECONDS - start)) s")
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and namespaces)"
for c in debootstrap unshare chroot ip git rustc flock; do
    command -v "$c" >/dev/null || die "needs $c"
done
[ -f "$CA_FILE" ] || die "needs $CA_FILE (package ca-certificates) to download crates"
SYSROOT=$(rustc --print sysroot)
[ -x "$SYSROOT/bin/cargo" ] && [ -x "$SYSROOT/bin/rustc" ] || die "no cargo and rustc in $SYSROOT"
TIMES=()
total=$SECONDS

mkdir -p "$CACHE"
# Every run holds this lock, shared, while it uses the cache; making, replacing or forgetting
# the cache takes it exclusive, so it waits until no other run is using the root or the crates.
exec 9>"$CACHE/cache.lock"
flock 9
if [ "${FRESH_CLEAN:-0}" = 1 ]; then
    rm -rf "$BASE" "$BASE.stamp" "$CACHE/cargo-home"
fi
mkdir -p "$CACHE/cargo-home"
if [ "$(cat "$BASE.stamp" 2>/dev/null)" != "$SUITE $PACKAGES $MIRROR" ]; then
    say "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR into $BASE"
    start=$SECONDS
    rm -rf "$BASE" "$BASE.tmp" "$BASE.stamp"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$BASE.tmp" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$CACHE/debootstrap.log"; die "debootstrap"; }
    rm -rf "$BASE.tmp"/var/cache/apt/archives/*.deb
    mv "$BASE.tmp" "$BASE"
    echo "$SUITE $PACKAGES $MIRROR" >"$BASE.stamp"
    TIMES+=("debootstrap $((SECONDS - start)) s")
else
    say "Debian root cached in $BASE"
fi

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
say "fresh root $RUN: a copy of $BASE, a clean clone of $ROOT"
start=$SECONDS
trap 'printf "kept %s for its logs (root/*.log); remove it when done\n" "$RUN" >&2' EXIT
flock -s 9
cp -a "$BASE/." "$RUN"
chmod 755 "$RUN"
cp /etc/resolv.conf "$RUN/etc/resolv.conf"
mkdir -p "$RUN/opt"
commit=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-checkout "$ROOT" "$RUN/root/gearmand"
git -C "$RUN/root/gearmand" checkout -q --detach "$commit"
printf 'commit %s (%s)\n' "$commit" "$(git -C "$ROOT" log -1 --format=%s "$commit")"
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] ||
    printf 'note: uncommitted changes in %s are not part of this check\n' "$ROOT"
printf 'toolchain %s, %s\n' "$SYSROOT" "$("$SYSROOT/bin/rustc" -V)"
# The libraries of the queue backends and of C gearmand. (libssl3 is there: libc6-dev brings it
# through libtirpc and krb5; nothing here uses it, TLS is rustls.)
libs=$(chroot "$RUN" /sbin/ldconfig -p)
for lib in libtokyocabinet libpq libmysqlclient libmariadb libsqlite3 libmemcached libhiredis libgearman; do
    ! grep -q "$lib\." <<<"$libs" || die "$lib is installed in the fresh root"
done
printf 'no library of the queue backends or of C gearmand in the root (%s)\n' \
    'tokyocabinet, pq, mysqlclient, mariadb, sqlite3, memcached, hiredis, gearman'
TIMES+=("copy and clone $((SECONDS - start)) s")

phase fetch
phase run
phase test

say "fresh machine: both README commands passed"
printf '  %s\n' "${TIMES[@]}" "total $((SECONDS - total)) s"
mkdir -p "$CACHE/logs"
cp "$RUN/root/run-command.log" "$RUN/root/test-command.log" "$CACHE/logs/"
printf 'logs: %s/logs/run-command.log, %s/logs/test-command.log\n' "$CACHE" "$CACHE"
trap - EXIT
rm -rf "$RUN"
