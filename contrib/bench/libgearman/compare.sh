#!/bin/sh
# Runs slap.c (libgearman's client and worker) against our server and C gearmand, alternating,
# each started fresh on a free loopback port, and prints one RESULT line per run.
#
#   apt-get install libgearman-dev gearman-job-server
#   cargo build --release -p gearmand -p gearmand-protocol-gear
#   contrib/bench/libgearman/compare.sh [ROUNDS] [slap options ...]
#   e.g. contrib/bench/libgearman/compare.sh 3 --clients 16 --workers 8 --inflight 8
#
# OURS_T and C_T set each server's -t (default 1 and 0, as gearmand-bench compare).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rounds=${1:-3}
if [ $# -gt 0 ]; then shift; fi
slap=${TMPDIR:-/tmp}/gearmand-slap
gcc -O2 -Wall -Wextra -o "$slap" "$here/slap.c" -lgearman -lpthread

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_one() { # name, then slap's options
    name=$1
    shift
    port=$(free_port)
    if [ "$name" = ours ]; then
        "$root/target/release/gearmand" -p "$port" -L 127.0.0.1 -t "${OURS_T:-1}" -l none -f 20000 &
    else
        /usr/sbin/gearmand -p "$port" -L 127.0.0.1 -t "${C_T:-0}" -l none -f 20000 &
    fi
    pid=$!
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "$name: server did not start" >&2; kill "$pid"; exit 1; }
        sleep 0.1
    done
    echo "$name $("$slap" --port "$port" --pid "$pid" "$@")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for _ in $(seq "$rounds"); do
    run_one ours "$@"
    run_one c "$@"
done
