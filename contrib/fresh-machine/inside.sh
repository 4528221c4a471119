#!/usr/bin/env bash
# The inside half of the fresh-machine check: contrib/fresh-machine/check.sh runs it in the
# fresh Debian root, in the clean clone, once per phase:
#   fetch  downloads the crates of Cargo.lock (the one phase with more network than loopback)
#   run    the README's run command: the server it builds must listen on port 4730 and answer
#          admin `version`; then, with that release binary: `testfile` in neither --help nor the
#          unknown -q list, and `-q tokyocabinet` failing with one line that names the library
#   test   the README's test command, without CI=true, which must end green; with
#          RUST_TEST_NOCAPTURE=1, as the harness hides the output (the SKIP lines) of passing tests
# The commands are read from README.md itself, so the check cannot drift from what it documents.
set -euo pipefail
cd /root/gearmand

say() { printf '== %s\n' "$*"; }
die() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

# The first line of the sh block under the README heading "## $1".
readme_command() {
    awk -v h="## $1" '$0 == h { f = 1; next } f && /^```sh$/ { getline; print; exit }' README.md
}

phase_fetch() {
    say "cargo fetch (crates of Cargo.lock; the commands below run without a network)"
    cargo fetch --locked
}

# Waits until 127.0.0.1:$2 accepts connections while process $1 lives (its log: $3).
await_port() {
    until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
        if ! kill -0 "$1" 2>/dev/null; then
            tail -n 40 "$3" >&2
            die "the command ended before anything listened on port $2"
        fi
        sleep 1
    done
}

phase_run() {
    local cmd log=/root/run-command.log pid server reply out rc
    cmd=$(readme_command "Run the server")
    [[ $cmd == cargo\ build* ]] || die "no run command found in README.md"
    say "README run command: $cmd"
    bash -c "$cmd" >"$log" 2>&1 &
    pid=$!
    await_port "$pid" 4730 "$log"
    grep -m1 'Finished `release`' "$log" || true
    # The server is the command's child (the build before it has finished), or the command
    # itself where bash ran it with exec.
    server=$(cat "/proc/$pid/task/$pid/children")
    server=${server%% *}
    server=${server:-$pid}
    printf 'ok   the server (pid %s) listens on port 4730\n' "$server"
    exec 3<>/dev/tcp/127.0.0.1/4730
    printf 'version\n' >&3
    IFS= read -r -t 10 reply <&3 || true
    exec 3>&-
    [[ $reply == OK\ * ]] || die "admin version answered '$reply'"
    printf 'ok   the server answers admin version: %s\n' "$reply"
    [ -f gearmand-queue.db ] || die "no gearmand-queue.db"
    printf 'ok   sqlite queue in gearmand-queue.db\n'
    kill -TERM "$server"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || { tail -n 20 "$log" >&2; die "the command exited $rc after SIGTERM"; }
    printf 'ok   SIGTERM stops it, exit 0\n'

    local bin=target/release/gearmand
    say "$bin without libtokyocabinet"
    ! grep -q libtokyocabinet <<<"$(ldconfig -p)" || die "libtokyocabinet is installed here"
    rc=0
    out=$("$bin" -p 0 -q tokyocabinet --libtokyocabinet-file /tmp/fresh-q.tch 2>&1) || rc=$?
    printf '%s\n' "$out"
    [ "$rc" = 1 ] || die "-q tokyocabinet exited $rc, not 1"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || die "-q tokyocabinet printed more than one line"
    [[ $out == *libtokyocabinet.so.9* && $out == *"Debian package libtokyocabinet9"* ]] ||
        die "the line does not name libtokyocabinet.so.9 and libtokyocabinet9"
    printf 'ok   -q tokyocabinet: exit 1, one line naming the library and its package\n'

    say "$bin --help and the unknown -q list"
    out=$("$bin" --help)
    [[ $out == *--libtokyocabinet-file* && $out == *--libsqlite3-db* ]] ||
        die "--help lacks the plugins' options"
    [[ $out != *testfile* ]] || die "--help mentions testfile"
    rc=0
    out=$("$bin" --check-args -q nosuch 2>&1) || rc=$?
    printf '%s\n' "$out"
    [ "$rc" = 1 ] && [[ $out == *"installed queue plugins: builtin, "* ]] || die "unexpected: $out"
    [[ $out != *testfile* ]] || die "the installed-plugin list mentions testfile"
    printf 'ok   no testfile in --help or the installed-plugin list\n'
}

phase_test() {
    local cmd log=/root/test-command.log rc
    cmd=$(readme_command "Run every test")
    [[ $cmd == cargo\ build* ]] || die "no test command found in README.md"
    say "README test command (CI unset): $cmd"
    unset CI
    export RUST_TEST_NOCAPTURE=1
    set +e
    bash -c "$cmd" 2>&1 | tee "$log" |
        grep --line-buffered -E '^ +Running |^test result|FAILED|panicked'
    rc=${PIPESTATUS[0]}
    set -e
    sum() { grep -oE "[0-9]+ $1" "$log" | awk '{ s += $1 } END { print s + 0 }'; }
    # The harness's SKIP lines are `*** SKIP: <what> ***` (a line of their own).
    skips() { grep -E '^\*{3,} SKIP: .* \*{3,}$' "$log" | sed -E 's/^\*+ SKIP: //; s/ \*+$//'; }
    say "test binaries: $(grep -c '^test result' "$log"); tests: $(sum passed) passed," \
        "$(sum failed) failed, $(sum ignored) ignored; SKIP lines: $(skips | wc -l)"
    say "what was skipped (count, reason):"
    skips | sort | uniq -c | sort -rn || true
    [ "$rc" = 0 ] || die "the test command exited $rc (log: $log)"
    printf 'ok   the README test command passed\n'
}

case ${1:-} in
fetch) phase_fetch ;;
run) phase_run ;;
test) phase_test ;;
*) die "usage: inside.sh fetch|run|test" ;;
esac
