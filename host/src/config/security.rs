//! The host options that protect the server: TLS on every listener (`--ssl*`), per-connection
//! output limits (backpressure), and the limits on what the job engine holds in memory.
//!
//! TLS lives in the host, not in a protocol plugin, so that every protocol (gear, HTTP) can run
//! over it with the same options; the names are the original's gear options, and so are the
//! `GEARMAND_CA_CERTIFICATE`, `GEARMAND_SERVER_PEM` and `GEARMAND_SERVER_KEY` environment
//! overrides, which (as in the original) replace the option values whenever `--ssl` is on.
//!
//! Sizes are read by the plugin API's one size parser ([`gearmand_plugin_api::size`]): a plain byte
//! count or a binary suffix, `65536`, `64K`, `16M`, `1G`, `2MiB`. 0 means "no limit" where the
//! option says so. These limits are totals (over a connection's replies, over every job), never the
//! size of one request, so the request bound `abi::MAX_REQUEST_BYTES` that the protocol plugins'
//! size options obey does not apply.

use super::admin::AdminPolicy;
use super::layered::Layered;
use super::ConfigError;
use crate::engine::EngineLimits;
use clap::{value_parser, Arg, ArgAction};
use gearmand_plugin_api::size;
use std::path::PathBuf;

/// Help heading of the options in this file.
const HEADING: &str = "Security and limits";

/// Default `--max-output-buffer`: unsent reply bytes one connection may hold.
const DEFAULT_MAX_OUTPUT: &str = "16M";
/// Default `--max-job-bytes`: job data (unique, function and payload) held in memory in total.
const DEFAULT_MAX_JOB_BYTES: &str = "1G";
/// Default of the job counts, `--max-queued-jobs` and `--max-queued-jobs-per-function`.
const NO_LIMIT: &str = "0";

/// `--ssl` and the files it uses; present only when `--ssl` is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// With a CA file, client certificates are required and verified against it.
    pub ca_file: Option<PathBuf>,
    /// The server certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Limits the runtime and the engine enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Unsent output bytes past which a connection is disconnected (0 = no limit).
    pub max_output: u64,
    /// What the engine holds in memory: `--max-queued-jobs`, `--max-queued-jobs-per-function`
    /// and `--max-job-bytes` (0 = no limit), in the engine's own type.
    pub engine: EngineLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: size::constant(DEFAULT_MAX_OUTPUT),
            engine: EngineLimits {
                max_jobs: size::constant(NO_LIMIT),
                max_per_function: size::constant(NO_LIMIT),
                max_job_bytes: size::constant(DEFAULT_MAX_JOB_BYTES),
            },
        }
    }
}

fn value(id: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(id)
        .help(help)
        .value_name("arg")
        .action(ArgAction::Set)
        .help_heading(HEADING)
}

/// The clap arguments of this file.
pub fn args() -> Vec<Arg> {
    vec![
        Arg::new("ssl")
            .long("ssl")
            .help("Enable TLS on every listening port.")
            .action(ArgAction::SetTrue)
            .help_heading(HEADING),
        value(
            "ssl-ca-file",
            "CA file; when given, clients must present a certificate it signed.",
        )
        .value_parser(value_parser!(PathBuf)),
        value("ssl-certificate", "Server certificate chain (PEM).")
            .value_parser(value_parser!(PathBuf)),
        value("ssl-key", "Private key of the server certificate (PEM).")
            .value_parser(value_parser!(PathBuf)),
        value(
            "max-output-buffer",
            "Unsent reply bytes per connection before it is disconnected; 0 = no limit.",
        )
        .default_value(DEFAULT_MAX_OUTPUT),
        value(
            "max-queued-jobs",
            "Jobs held in memory in total; 0 = no limit.",
        )
        .default_value(NO_LIMIT),
        value(
            "max-queued-jobs-per-function",
            "Queued jobs per function unless maxqueue sets it; 0 = no limit.",
        )
        .default_value(NO_LIMIT),
        value(
            "max-job-bytes",
            "Bytes of job data held in memory in total; 0 = no limit.",
        )
        .default_value(DEFAULT_MAX_JOB_BYTES),
        value(
            "admin-restrict",
            "Admin commands only trusted connections may use: shutdown, changes or all.",
        )
        .default_value(super::admin::DEFAULT_RESTRICT),
        value(
            "admin-allow",
            "Trusted for admin (repeatable): loopback, any, an address, a network, subject:<DN>.",
        )
        .action(ArgAction::Append),
    ]
}

/// `--admin-restrict` and `--admin-allow`.
pub fn admin(l: &Layered) -> Result<AdminPolicy, ConfigError> {
    AdminPolicy::parse(
        l.string("admin-restrict").as_deref(),
        &l.many("admin-allow"),
    )
}

/// `--ssl*` with the environment overrides; `None` without `--ssl`.
pub fn tls(
    l: &Layered,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TlsFiles>, ConfigError> {
    if !l.flag("ssl") {
        return Ok(None);
    }
    let pick = |opt: &str, var: &str| -> Option<PathBuf> {
        env(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| l.one::<PathBuf>(opt))
    };
    let ca_file = pick("ssl-ca-file", "GEARMAND_CA_CERTIFICATE");
    let certificate = pick("ssl-certificate", "GEARMAND_SERVER_PEM");
    let key = pick("ssl-key", "GEARMAND_SERVER_KEY");
    match (certificate, key) {
        (Some(certificate), Some(key)) => Ok(Some(TlsFiles {
            ca_file,
            certificate,
            key,
        })),
        _ => Err(ConfigError::Invalid(
            "--ssl needs --ssl-certificate and --ssl-key (or GEARMAND_SERVER_PEM and GEARMAND_SERVER_KEY)"
                .into(),
        )),
    }
}

/// The limits, each parsed as a size.
pub fn limits(l: &Layered) -> Result<Limits, ConfigError> {
    let size = |id: &str| -> Result<u64, ConfigError> {
        let text = l.string(id).unwrap_or_default();
        size::parse(&text)
            .map_err(|e| ConfigError::Invalid(format!("--{id}: '{text}' is not a size: {e}")))
    };
    Ok(Limits {
        max_output: size("max-output-buffer")?,
        engine: EngineLimits {
            max_jobs: size("max-queued-jobs")?,
            max_per_function: size("max-queued-jobs-per-function")?,
            max_job_bytes: size("max-job-bytes")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layered(line: &str) -> Layered {
        let cmd = clap::Command::new("t").args(args());
        let m = cmd
            .try_get_matches_from(std::iter::once("t").chain(line.split_whitespace()))
            .unwrap();
        Layered::new(m, None)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn tls_is_off_without_ssl_even_with_files() {
        let l = layered("--ssl-certificate c.pem --ssl-key k.pem");
        assert_eq!(tls(&l, &no_env).unwrap(), None);
    }

    #[test]
    fn ssl_takes_the_files_and_needs_certificate_and_key() {
        let l = layered("--ssl --ssl-certificate c.pem --ssl-key k.pem");
        let t = tls(&l, &no_env).unwrap().unwrap();
        assert_eq!(t.certificate, PathBuf::from("c.pem"));
        assert_eq!(t.key, PathBuf::from("k.pem"));
        assert_eq!(t.ca_file, None);
        let e = tls(&layered("--ssl --ssl-key k.pem"), &no_env).unwrap_err();
        assert!(e.to_string().contains("--ssl-certificate"), "{e}");
    }

    #[test]
    fn the_environment_overrides_the_files_when_ssl_is_on() {
        let env = |v: &str| match v {
            "GEARMAND_CA_CERTIFICATE" => Some("env-ca.pem".to_string()),
            "GEARMAND_SERVER_PEM" => Some("env-cert.pem".to_string()),
            "GEARMAND_SERVER_KEY" => Some(String::new()),
            _ => None,
        };
        let l = layered("--ssl --ssl-certificate c.pem --ssl-key k.pem");
        let t = tls(&l, &env).unwrap().unwrap();
        assert_eq!(t.ca_file, Some(PathBuf::from("env-ca.pem")));
        assert_eq!(t.certificate, PathBuf::from("env-cert.pem"));
        // An empty variable does not count.
        assert_eq!(t.key, PathBuf::from("k.pem"));
    }

    #[test]
    fn limits_have_defaults_and_parse_sizes() {
        assert_eq!(limits(&layered("")).unwrap(), Limits::default());
        let l = limits(&layered(
            "--max-output-buffer 1M --max-queued-jobs 10 --max-job-bytes 0",
        ))
        .unwrap();
        assert_eq!(l.max_output, 1 << 20);
        assert_eq!(l.engine.max_jobs, 10);
        assert_eq!(l.engine.max_job_bytes, 0);
        assert!(limits(&layered("--max-output-buffer lots")).is_err());
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        let parse_size = |t: &str| size::parse(t).ok();
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("16m"), Some(16 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
        assert_eq!(parse_size("17179869184G"), None);
    }

    #[test]
    fn a_bad_size_names_its_option_and_reason() {
        let e = limits(&layered("--max-job-bytes 12X"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--max-job-bytes: '12X' is not a size: the number is followed by"),
            "{e}"
        );
    }
}
