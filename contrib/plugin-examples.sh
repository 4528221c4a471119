#!/usr/bin/env bash
# contrib/plugin-examples.sh — builds both example queue plugins out of tree, runs the conformance
# kit against them and against every in-tree queue plugin that needs no server, then runs the real
# server with each example plugin: submit background jobs, stop, restart, check they were
# replayed, drain them with a worker, restart once more and check the queue is empty.
#
# Usage: contrib/plugin-examples.sh            (from anywhere; needs cargo, cc, make, gearman,
#                                               gearadmin)
# Env:   BUILD=dir     where to build and keep logs (default target/plugin-examples)
#        JOBS=n        jobs in the kit's many-jobs check (default 10000)
# Exit status: 0 when every step passed; the last line says how many steps failed.

set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/target/plugin-examples}"
JOBS="${JOBS:-10000}"
DEBUG="$ROOT/target/debug"
KIT="$DEBUG/gearmand-queue-conformance"
GEARMAND="$DEBUG/gearmand"
PLUGINS="$BUILD/plugins"      # the --plugin-dir holding both example plugins
WORK="$BUILD/work"            # queue files and server logs of this run
failed=0
passed=0

say()  { printf '== %s\n' "$*"; }
ok()   { printf 'ok   %s\n' "$*"; passed=$((passed + 1)); }
bad()  { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
die()  { printf 'FAIL %s\n' "$*"; exit 1; }

# ---- Build -----------------------------------------------------------------------------------

build() {
    say "building the host, the kit and the in-tree file plugins"
    (cd "$ROOT" && cargo build -q -p gearmand -p gearmand-protocol-gear \
        -p gearmand-queue-sqlite -p gearmand-queue-testfile -p gearmand-queue-conformance) \
        || die "cargo build in the workspace"
    rm -rf "$PLUGINS" "$WORK"
    mkdir -p "$PLUGINS" "$WORK"

    say "building contrib/example-queue-plugin out of tree (its own workspace and target dir)"
    (cd "$ROOT/contrib/example-queue-plugin" &&
        cargo build -q --release --target-dir "$BUILD/rust-target" &&
        cargo test -q --release --target-dir "$BUILD/rust-target") \
        || die "the Rust example does not build or its tests fail"
    cp "$BUILD/rust-target/release/libgearmand_queue_appendfile.so" "$PLUGINS/"
    ok "Rust example built and tested: $PLUGINS/libgearmand_queue_appendfile.so"

    say "building contrib/example-queue-plugin-c with make"
    make -s -C "$ROOT/contrib/example-queue-plugin-c" OUT="$PLUGINS" \
        || die "the C example does not build"
    ok "C example built: $PLUGINS/libgearmand_queue_cfile.so"
}

# ---- Conformance -----------------------------------------------------------------------------

# conformance NAME PLUGIN_FILE [--option k=v ...]
conformance() {
    local name="$1" plugin="$2"
    shift 2
    say "conformance kit: $name"
    if "$KIT" --plugin "$plugin" --jobs "$JOBS" "$@" >"$WORK/kit-$name.log" 2>&1; then
        ok "conformance $name: $(tail -n 1 "$WORK/kit-$name.log")"
    else
        grep -E '^(FAIL|SKIP)' "$WORK/kit-$name.log"
        bad "conformance $name: $(tail -n 1 "$WORK/kit-$name.log") (log: $WORK/kit-$name.log)"
    fi
}

run_kits() {
    conformance appendfile "$PLUGINS/libgearmand_queue_appendfile.so" \
        --option "appendfile-path=$WORK/kit.af"
    conformance cfile "$PLUGINS/libgearmand_queue_cfile.so" --option "cfile-path=$WORK/kit.cfile"
    conformance sqlite "$DEBUG/libgearmand_queue_sqlite.so" --option "libsqlite3-db=$WORK/kit.db"
    # Cargo builds the test-only queue under a name no gearmand finds; install it as a plugin.
    mkdir -p "$WORK/testfile"
    cp "$DEBUG/libgearmand_testonly_queue_testfile.so" "$WORK/testfile/libgearmand_queue_testfile.so"
    conformance testfile "$WORK/testfile/libgearmand_queue_testfile.so" \
        --option "testfile-path=$WORK/kit.testfile"
    # The plugin opens libtokyocabinet.so.9 when it starts, so it needs the library installed.
    if [ ! -f "$DEBUG/libgearmand_queue_tokyocabinet.so" ]; then
        printf 'skip tokyocabinet: not built (cargo build -p gearmand-queue-tokyocabinet)\n'
    elif ! grep -q 'libtokyocabinet\.so\.9 ' <<<"$(/sbin/ldconfig -p)"; then
        printf 'skip tokyocabinet: libtokyocabinet.so.9 is not installed (package libtokyocabinet9)\n'
    else
        conformance tokyocabinet "$DEBUG/libgearmand_queue_tokyocabinet.so" \
            --option "libtokyocabinet-file=$WORK/kit.tch"
    fi
}

# ---- The real server -------------------------------------------------------------------------

SERVER_PID=""
PORT=""

# start_server LOG QUEUE_ARGS...: starts gearmand on a free loopback port, waits for its
# "listening on 127.0.0.1:PORT (gear)" line (up to 15 s) and sets SERVER_PID and PORT.
start_server() {
    local log="$1"
    shift
    "$GEARMAND" --plugin-dir "$PLUGINS" "$@" -p 0 -L 127.0.0.1 -l stderr --verbose INFO \
        -P "$WORK/gearmand.pid" 2>"$log" &
    SERVER_PID=$!
    PORT=""
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (gear).*/\1/p' "$log" | head -n 1)"
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    stop_server
    return 1
}

# stop_server: SIGTERM, then wait (up to 15 s) for the process to exit.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local deadline=$((SECONDS + 15))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        bad "server $SERVER_PID ignored SIGTERM for 15 s"
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
trap stop_server EXIT

# queued FUNCTION: the "queued" column of `gearadmin --status` for FUNCTION (0 if not listed).
queued() {
    gearadmin -h 127.0.0.1 -p "$PORT" --status | awk -F'\t' -v f="$1" '$1 == f { q = $2 } END { print q + 0 }'
}

# server_round NAME QUEUE_ARGS...: the submit / restart / replay / drain / restart round.
server_round() {
    local name="$1"
    shift
    local fn="examplefn_$name" out="$WORK/worked-$name"
    say "server with -q $name: submit, restart, replay, drain"
    start_server "$WORK/server-$name-1.log" "$@" || {
        bad "$name: the server did not start (log: $WORK/server-$name-1.log)"
        return
    }
    for i in 1 2 3; do
        gearman -b -h 127.0.0.1 -p "$PORT" -f "$fn" -u "u$i" "data $i" >/dev/null \
            || bad "$name: submitting job u$i failed"
    done
    [ "$(queued "$fn")" = 3 ] && ok "$name: 3 background jobs queued" \
        || bad "$name: expected 3 queued jobs, status says $(queued "$fn")"
    stop_server

    start_server "$WORK/server-$name-2.log" "$@" || {
        bad "$name: the server did not restart (log: $WORK/server-$name-2.log)"
        return
    }
    grep -q "replayed 3 jobs from the queue" "$WORK/server-$name-2.log" \
        && ok "$name: the restarted server says it replayed 3 jobs" \
        || bad "$name: no 'replayed 3 jobs from the queue' in $WORK/server-$name-2.log"
    [ "$(queued "$fn")" = 3 ] && ok "$name: gearadmin --status shows the 3 jobs after the restart" \
        || bad "$name: after the restart, status says $(queued "$fn") queued"
    rm -f "$out"
    # The worker appends each job's data and a newline to a file and exits after three jobs.
    if timeout 30 gearman -w -c 3 -f "$fn" -h 127.0.0.1 -p "$PORT" \
        -- sh -c "cat >> '$out'; echo >> '$out'" >/dev/null; then
        local got
        got="$(sort "$out" | tr '\n' ',' 2>/dev/null)"
        [ "$got" = "data 1,data 2,data 3," ] && ok "$name: a worker drained the 3 jobs with their data" \
            || bad "$name: the worker got '$got'"
    else
        bad "$name: the worker did not get 3 jobs within 30 s"
    fi
    [ "$(queued "$fn")" = 0 ] || bad "$name: jobs still queued after the worker"
    stop_server

    start_server "$WORK/server-$name-3.log" "$@" || {
        bad "$name: the server did not start a third time"
        return
    }
    # The server logs the end of every replay, an empty one included, before it listens.
    if ! grep -q "replayed 0 jobs from the queue" "$WORK/server-$name-3.log" || [ "$(queued "$fn")" != 0 ]; then
        bad "$name: done jobs came back after a restart (log: $WORK/server-$name-3.log)"
    else
        ok "$name: after the jobs were done, a restart replays nothing"
    fi
    stop_server
}

run_servers() {
    if ! "$GEARMAND" --help >/dev/null 2>&1; then
        bad "target/debug/gearmand --help fails: skipping the server rounds"
        return
    fi
    server_round appendfile -q appendfile --appendfile-path "$WORK/server.af"
    server_round cfile -q cfile --cfile-path "$WORK/server.cfile"
}

build
run_kits
run_servers
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
