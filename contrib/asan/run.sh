#!/usr/bin/env bash
# AddressSanitizer (with LeakSanitizer) over the unsafe plugin ABI layer: the SDK's export glue
# (plugin-api tests drive exported plugins through their raw header and vtable) and the host's
# loader and adapters (host unit tests and tests/plugin_loader.rs, which load real plugins and
# C fixtures through dlopen). Stable toolchain: RUSTC_BOOTSTRAP enables -Zsanitizer.
#
# The host is instrumented; the plugin .so files it loads are built without ASan (a statically
# linked ASan runtime cannot serve a dlopen'ed instrumented library), so reports point at the
# host's side of the boundary, which is where the unsafe code is.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$(rustc -vV | sed -n 's/^host: //p')
dir=target/asan
export ASAN_OPTIONS=detect_leaks=1
export LSAN_OPTIONS="suppressions=$PWD/contrib/asan/lsan.supp"
asan() { RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" cargo "$@" --target "$target" --target-dir "$dir"; }

asan test -p gearmand-plugin-api --tests
asan test -p gearmand --no-run --lib --test plugin_loader --test plugin_compat
cargo build --target "$target" --target-dir "$dir" \
    -p gearmand-queue-testfile -p gearmand-protocol-gear -p gearmand-protocol-http
# The loader's own unit tests (`plugin::`), then the loader against real .so files. (The rest of
# the host's unit tests are timing-sensitive runtime tests that ASan's slowdown would only make flaky.)
asan test -p gearmand --lib plugin::
asan test -p gearmand --test plugin_loader --test plugin_compat
echo "ASan: plugin ABI layer clean"
