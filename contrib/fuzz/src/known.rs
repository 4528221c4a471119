//! Findings that are reported to their owners but not fixed yet.
//!
//! A check that keeps failing on a known bug would stop every CI run from finding anything new,
//! so each known finding gets a waiver here: the check skips exactly that symptom. The finding
//! itself stays pinned by an `#[ignore]`d test in `tests/regressions.rs`; whoever fixes the bug
//! removes the waiver and the `#[ignore]`. `GEARMAND_FUZZ_STRICT=1` turns every waiver off (for a
//! long run that should report everything).

/// Known, reported, unfixed findings (see README.md "Findings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// F1: a TOML syntax error in the config file gives a multi-line error message
    /// (host/src/config/file.rs `ConfigFile::from_text` copies `toml::de::Error::message()`).
    TomlErrorLines,
    /// F2: a connection that is client and worker of the same job closes; when the requeue drops
    /// the job (retries exhausted) the engine sends WORK_FAIL to the closing connection itself
    /// (host/src/engine/lifecycle.rs `closed` requeues running jobs before detaching waits).
    FailToClosingConn,
}

/// True when the check for `finding` should be skipped.
pub fn waived(finding: Finding) -> bool {
    let strict = std::env::var_os("GEARMAND_FUZZ_STRICT").is_some_and(|v| v == "1");
    let _ = finding;
    !strict
}
