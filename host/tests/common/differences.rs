//! The one list of places where our gearmand deliberately differs from C gearmand 1.1.20.
//!
//! Sources: gearmand 2.0's changes and the fixes of 1.1.20's bugs, each described in
//! docs/gear-protocol.md "Differences from C gearmand 1.1.20". Tests of these run against OUR server only (`tests/ours_only.rs`,
//! `tests/cli.rs`, `tests/signals.rs`, `tests/grab_hold.rs`; D18 in the engine's
//! `metrics_tests.rs` and `tests/http_server.rs`); `tests/c_reference.rs` pins what C gearmand
//! does instead, so an entry that stops being a difference is noticed; the differential test
//! (`tests/differential.rs`) avoids or normalises them. Each entry has an id that the tests cite.
//!
//! gearmand 2.0 behaviour:
//! - **D1 global priority**: a worker gets a high job of any of its functions before a normal one;
//!   1.1.20 lets function registration order win first.
//! - **D2 round robin by default**: a worker's functions are served in rotation without `-R`
//!   (`-R` is still accepted); 1.1.20 serves the most recently added function first.
//! - **D3 epoch timer**: sleeping workers get NOOP when an epoch job falls due, by a timer;
//!   1.1.20 waits for another event.
//! - **D4 CAN_DO_TIMEOUT**: one timer per assigned job, keyed by handle, cancelled when the job
//!   ends (1.1.20: one timer per connection that is never cancelled on completion and can requeue
//!   an unrelated job). Values are milliseconds in both; 1..999 → 1000 ms in 1.1.20.
//! - **D5 `--job-retries`**: default `-1` = no limit, `0` disables retries, `1`..`255` attempts,
//!   anything else refused at startup (exit 1); 1.1.20 defaults to 0 = unlimited and wraps to u8.
//! - **D6 version string**: admin `version` and `-V` print our version, not `1.1.20+ds`.
//!
//! *Recommended* fixes of 1.1.20 bugs:
//! - **D7** a required NUL missing inside the declared body closes the connection (1.1.20 reads
//!   on into the next packet).
//! - **D8** a 64-byte unique is stored whole and coalesces (1.1.20 keeps 63 bytes); so
//!   GET_STATUS_UNIQUE answers for 64-byte uniques too (1.1.20: no reply from 64 bytes on).
//! - **D9** an out-of-range CAN_DO_TIMEOUT value (e.g. 20 nines) closes the connection (1.1.20
//!   crashes).
//! - **D10** a `--job-handle-prefix` too long for `:<10 digits>` in 63 bytes is refused at startup.
//! - **D11** a future epoch job at the head of the normal list does not hide due low jobs.
//! - **D12** reduce submissions check the unique (≤ 64) and the reducer (< 512), not the reducer
//!   against 64.
//! - **D13** a background job that a foreground client joined is not dropped when that client
//!   disconnects.
//! - **D14** `create function NAME\n` creates `NAME` (1.1.20 drops the last character without CR).
//! - **D15** `drop function` is refused while the function has jobs.
//! - **D16** `shutdown` / `shutdown graceful` admin commands work again, from loopback only
//!   (other arguments: `ERR INVALID_ARGUMENTS ...shutdown`, as in 1.1.14); 1.1.20 answers
//!   `ERR UNKNOWN_COMMAND`.
//! - **D18** the admin command `metrics` (our extension, behind the HTTP plugin's `/-/metrics`)
//!   lists counters as `name<TAB>labels<TAB>value` lines ending with `.`; 1.1.20 answers
//!   `ERR UNKNOWN_COMMAND`.
//! - **D19** a GRAB_JOB that finds no job is held up to `--grab-hold-us` (default 1 ms): a job
//!   arriving meanwhile is answered with JOB_ASSIGN, else NO_JOB comes when the time is up (or
//!   before the reply to the worker's next packet); 1.1.20 answers NO_JOB at once, which
//!   `--grab-hold-us 0` restores. Tests: `grab_hold.rs`.
//! - **D20** a WORK_EXCEPTION forwarded to a client without the `exceptions` option becomes a
//!   WORK_FAIL whose body is the bare handle, like a worker's own WORK_FAIL; 1.1.20 sends the
//!   handle plus a trailing NUL, which no real client matches to its job: Perl Gearman::Client
//!   croaks "Got work_fail for unknown handle", pygearman raises KeyError, a Node `gearman`
//!   client sees a handle it never created, and libgearman (PHP without exceptions, the `gearman`
//!   tool) ignores the packet and waits until it times out. Tests: [`d20_converted_fail`] in
//!   `results.rs` (both servers), `differential.rs` (normalised), `c_reference.rs`,
//!   `real_clients.rs`, `client_matrix.rs`.
//!
//! Command line (issue 2):
//! - **D17** `--help` lists every installed plugin's options grouped under the plugin's name,
//!   and `--check-args` (hidden in 1.1.20, listed in the man page);
//!   `--verbose` accepts lower case; `-q`/`-r` accept the aliases `sqlite`, `libpq`, `postgres`,
//!   `mysql`, `memcached`, `tokyocabinet` that 1.1.20 rejects; unknown names list installed plugins.
//! - **D21** `-v` (repeatable) raises the log level one step from ERROR per `-v`, as the gearmand
//!   1.0 man page documents ("Increase verbosity level by one"); with `--verbose` in the same
//!   source it is refused. 1.1.20 refuses `-v` as an unknown option. Tests: `cli.rs`.
//!
//! Not differences, but not byte-comparable between the two servers either (normalised in the
//! differential test): `workers` fd numbers and line order, listing order of `status`,
//! `prioritystatus`, `show jobs`, `show unique jobs` (hash order in 1.1.20), `getpid`, job handle
//! prefixes (both servers run with `--job-handle-prefix`), and `verbose` (ours runs at INFO so the
//! harness can read its port from the log; the differential test starts C at INFO too).
//!
//! A quirk of 1.1.20 the tests step around: a GET_STATUS with a handle of 64+ bytes gets no reply,
//! but when the next packet is already buffered behind it 1.1.20 sometimes closes the connection.

use super::Kind;

/// D20: the args of the WORK_FAIL that a client without `exceptions` gets when the worker of job
/// `handle` sends WORK_EXCEPTION: the bare handle from ours, the handle and an empty arg (so a
/// trailing NUL) from 1.1.20.
pub fn d20_converted_fail(kind: Kind, handle: &[u8]) -> Vec<&[u8]> {
    match kind {
        Kind::Ours => vec![handle],
        Kind::C => vec![handle, b""],
    }
}
