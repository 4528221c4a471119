#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer on the stable toolchain, replays the
# committed seeds and saved regressions, then fuzzes every target for the given seconds each.
# Exits non-zero if any input fails (panic, sanitizer report, timeout, out of memory).
#
#   contrib/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#   contrib/fuzz/run.sh 0                                     (build and replay only)
#
# New interesting inputs go to contrib/fuzz/work/<target>/ (not committed), failing ones to
# contrib/fuzz/artifacts/<target>/. See README.md for long runs and for turning a crash into a
# regression test.
set -euo pipefail

cd "$(dirname "$0")"
secs="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(gear_codec http_codec engine config)
fi

triple="$(rustc -vV | sed -n 's/^host: //p')"
# -Z flags on the stable compiler: RUSTC_BOOTSTRAP=1 (the flags are what cargo-fuzz passes).
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks"
# --target keeps build scripts and proc macros uninstrumented (they cannot load ASan).
cargo build --release --target "$triple" --bins
bin_dir="target/$triple/release"

max_len() {
    case "$1" in
        gear_codec) echo 10000 ;; # past the 8192-byte receive buffer
        *) echo 4096 ;;
    esac
}

failed=()
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "artifacts/$t" "regressions/$t"
    common=(-artifact_prefix="artifacts/$t/" -max_len="$(max_len "$t")" -timeout=10
        -rss_limit_mb=2048 -print_final_stats=1)
    echo "== $t: replaying seeds and regressions"
    if ! "$bin_dir/$t" "${common[@]}" -runs=0 "corpus/$t" "regressions/$t"; then
        failed+=("$t (seed or regression input)")
        continue
    fi
    if [ "$secs" -eq 0 ]; then
        continue # libFuzzer reads -max_total_time=0 as "forever"; 0 here means build + replay
    fi
    echo "== $t: fuzzing for ${secs}s"
    if ! "$bin_dir/$t" "${common[@]}" -max_total_time="$secs" "work/$t" "corpus/$t"; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing FAILED: ${failed[*]}; inputs are in contrib/fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzzing passed: ${targets[*]} (${secs}s each)"
