//! The plugin's options (`--http-*`) and the limits every connection enforces.
//!
//! All sizes are read by the plugin API's size parser ([`gearmand_plugin_api::size`]): a plain
//! byte count or a binary suffix (`16K`, `64M`, `1G`, `2MiB`); the timeouts, plain seconds, go
//! through it too. Values are checked once, at startup, so a typo stops the server with a clear
//! message instead of silently running with a default. Each default is written once, as the
//! text `--help` shows.

use gearmand_plugin_api::abi::MAX_REQUEST_BYTES;
use gearmand_plugin_api::size::{self, SizeError};
use gearmand_plugin_api::{OptionDef, Options};
use std::fmt;
use std::time::Duration;

/// Default `--http-port`.
pub const DEFAULT_PORT: &str = "8080";
/// Default size limit of the request line plus all header lines.
pub const DEFAULT_MAX_HEADER: &str = "16K";
/// Default size limit of one request body (the job's workload).
pub const DEFAULT_MAX_BODY: &str = "64M";
/// Default seconds a client gets to send a complete request head.
pub const DEFAULT_HEADER_TIMEOUT: &str = "10";
/// Default seconds a kept-alive connection may sit idle, or a request body may stall.
pub const DEFAULT_IDLE_TIMEOUT: &str = "60";
/// Header lines a request may carry; more is a header flood (431).
pub const MAX_HEADER_LINES: usize = 100;
/// Smallest and largest accepted `http-max-header`.
const HEADER_RANGE: (usize, usize) = (1024, 1024 * 1024);
/// Largest accepted `http-max-body`: the body, the function name and the unique (both from the
/// request head) travel to the host as one request, which may not exceed its limit.
const BODY_MAX: usize = MAX_REQUEST_BYTES - HEADER_RANGE.1;

/// The options this plugin declares (shown by `--help`, accepted on the command line and in the
/// config file).
pub const OPTIONS: &[OptionDef] = &[
    OptionDef::value(
        "http-port",
        "Port the HTTP protocol listens on",
        Some(DEFAULT_PORT),
    ),
    OptionDef::value(
        "http-max-header",
        "Largest request line + headers in bytes (K/M suffix allowed)",
        Some(DEFAULT_MAX_HEADER),
    ),
    OptionDef::value(
        "http-max-body",
        "Largest request body (job workload) in bytes (K/M/G suffix allowed)",
        Some(DEFAULT_MAX_BODY),
    ),
    OptionDef::value(
        "http-header-timeout",
        "Seconds a client has to send a complete request head",
        Some(DEFAULT_HEADER_TIMEOUT),
    ),
    OptionDef::value(
        "http-idle-timeout",
        "Seconds an idle kept-alive connection is kept, and a request body may stall",
        Some(DEFAULT_IDLE_TIMEOUT),
    ),
];

/// Why an option value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a number (with an optional size suffix), and why.
    NotANumber {
        option: &'static str,
        value: String,
        why: SizeError,
    },
    /// A number outside the accepted range.
    OutOfRange {
        option: &'static str,
        value: String,
        min: usize,
        max: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotANumber { option, value, why } => {
                write!(f, "--{option}: '{value}' is not a number: {why}")
            }
            ConfigError::OutOfRange {
                option,
                value,
                min,
                max,
            } => write!(f, "--{option}: {value} is outside {min}..={max}"),
        }
    }
}

/// The limits one connection enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Request line + header lines, in bytes (the blank line included).
    pub max_header: usize,
    /// Request body, in bytes (after chunked decoding).
    pub max_body: usize,
    /// Time allowed for a complete request head, from its first byte (or, for a connection's
    /// first request, from the connection's start); then `408` and close (timer.rs).
    pub header_timeout: Duration,
    /// Time an idle kept-alive connection is kept, and a request body may make no progress.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header: size::constant(DEFAULT_MAX_HEADER) as usize,
            max_body: size::constant(DEFAULT_MAX_BODY) as usize,
            header_timeout: Duration::from_secs(size::constant(DEFAULT_HEADER_TIMEOUT)),
            idle_timeout: Duration::from_secs(size::constant(DEFAULT_IDLE_TIMEOUT)),
        }
    }
}

impl Limits {
    /// Reads the limits from the resolved options; an absent option keeps its default.
    pub fn from_options(options: &Options) -> Result<Limits, ConfigError> {
        let mut limits = Limits::default();
        if let Some(v) = options.get("http-max-header") {
            limits.max_header = sized("http-max-header", &v, HEADER_RANGE.0, HEADER_RANGE.1)?;
        }
        if let Some(v) = options.get("http-max-body") {
            limits.max_body = sized("http-max-body", &v, 0, BODY_MAX)?;
        }
        if let Some(v) = options.get("http-header-timeout") {
            let secs = sized("http-header-timeout", &v, 1, 3600)?;
            limits.header_timeout = Duration::from_secs(secs as u64);
        }
        if let Some(v) = options.get("http-idle-timeout") {
            let secs = sized("http-idle-timeout", &v, 1, 86400)?;
            limits.idle_timeout = Duration::from_secs(secs as u64);
        }
        Ok(limits)
    }
}

/// Parses `value` as a size (the plugin API's parser) and checks it against `min..=max`.
fn sized(option: &'static str, value: &str, min: usize, max: usize) -> Result<usize, ConfigError> {
    let out_of_range = || ConfigError::OutOfRange {
        option,
        value: value.to_string(),
        min,
        max,
    };
    match size::parse(value) {
        Ok(n) if n >= min as u64 && n <= max as u64 => Ok(n as usize),
        Ok(_) | Err(SizeError::TooLarge) => Err(out_of_range()),
        Err(why) => Err(ConfigError::NotANumber {
            option,
            value: value.to_string(),
            why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes())))
    }

    #[test]
    fn defaults_when_absent() {
        assert_eq!(Limits::from_options(&opts(&[])).unwrap(), Limits::default());
    }

    #[test]
    fn suffixes_and_plain_numbers() {
        let l = Limits::from_options(&opts(&[
            ("http-max-header", "8K"),
            ("http-max-body", "1048576"),
            ("http-header-timeout", "30"),
            ("http-idle-timeout", "5"),
        ]))
        .unwrap();
        assert_eq!(l.idle_timeout, Duration::from_secs(5));
        assert_eq!(l.max_header, 8192);
        assert_eq!(l.max_body, 1 << 20);
        assert_eq!(l.header_timeout, Duration::from_secs(30));
        let l = Limits::from_options(&opts(&[("http-max-body", "2m")])).unwrap();
        assert_eq!(l.max_body, 2 << 20);
    }

    #[test]
    fn the_body_and_the_largest_head_fit_in_one_request() {
        let body = |v: &str| Limits::from_options(&opts(&[("http-max-body", v)]));
        assert_eq!(body("4094M").unwrap().max_body, BODY_MAX);
        assert_eq!(BODY_MAX + HEADER_RANGE.1, MAX_REQUEST_BYTES);
        let over = (BODY_MAX + 1).to_string();
        for v in ["4095M", "4G", over.as_str()] {
            let e = body(v).unwrap_err().to_string();
            assert!(
                e.starts_with("--http-max-body: ") && e.contains("outside"),
                "{v}: {e}"
            );
        }
    }

    #[test]
    fn takes_every_suffix_the_host_takes() {
        let l = Limits::from_options(&opts(&[
            ("http-max-body", "2MiB"),
            ("http-max-header", "8kb"),
        ]));
        let l = l.unwrap();
        assert_eq!((l.max_body, l.max_header), (2 << 20, 8 << 10));
        let e = Limits::from_options(&opts(&[("http-max-body", "12X")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--http-max-body: '12X' is not a number: "),
            "{e}"
        );
    }

    #[test]
    fn refuses_garbage_and_out_of_range() {
        for (k, v) in [
            ("http-max-header", "12"),
            ("http-max-header", "abc"),
            ("http-max-header", "K"),
            ("http-max-body", "-1"),
            ("http-max-body", "99999999999999999999G"),
            ("http-header-timeout", "0"),
            ("http-idle-timeout", "0"),
            ("http-idle-timeout", "86401"),
        ] {
            assert!(Limits::from_options(&opts(&[(k, v)])).is_err(), "{k}={v}");
        }
    }
}
