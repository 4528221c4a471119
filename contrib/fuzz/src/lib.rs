//! gearmand-fuzz: the checks behind every fuzz target, as plain functions.
//!
//! Each `check_*` function takes the fuzzer's bytes, drives one parser of the server with them and
//! panics when an invariant breaks (a panic inside the code under test is a finding too). The
//! libFuzzer binaries in `fuzz_targets/` are one-line wrappers around these functions, so the same
//! checks also run on the stable toolchain without any fuzzer: `cargo test` in this directory
//! replays the committed seed corpora and every regression input through them.
//!
//! Reading order: [`input`] (turning fuzz bytes into choices), [`transcript`] (feeding a codec
//! the way the host does, in different splits), then one module per target: [`gear`], [`http`],
//! [`engine`], [`config`].

pub mod config;
pub mod engine;
mod engine_ops;
pub mod gear;
pub mod http;
pub mod input;
pub mod known;
pub mod transcript;

pub use config::check_config;
pub use engine::check_engine;
pub use gear::check_gear;
pub use http::check_http;

/// A fuzz target by name, for the corpus replay tests and the `replay` helper.
pub fn check_by_name(target: &str) -> Option<fn(&[u8])> {
    match target {
        "gear_codec" => Some(check_gear),
        "http_codec" => Some(check_http),
        "engine" => Some(check_engine),
        "config" => Some(check_config),
        _ => None,
    }
}

/// Every target, in the order `run.sh` runs them.
pub const TARGETS: [&str; 4] = ["gear_codec", "http_codec", "engine", "config"];
