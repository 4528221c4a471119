//! The `gear` protocol plugin: the gear binary protocol and the admin text protocol on one port.
//!
//! The host always loads this plugin. It owns nothing but the port option and, per connection, a
//! [`GearCodec`] that splits the byte stream into requests (binary packets and admin lines) and
//! turns responses back into bytes. Framing rules live in [`scan`] (check a boundary: how long is
//! the next frame, or is it an error?) and [`codec`] (split a checked frame into arguments, encode
//! responses).
//!
//! TLS (`--ssl*`) is the host's, for every protocol; this plugin adds only gear's own limits
//! ([`limits`]): `--max-packet-size`, `--max-function-name` and `--max-unique`.

#![forbid(unsafe_code)]

pub mod codec;
pub mod limits;
pub mod scan;

pub use codec::GearCodec;
pub use limits::GearLimits;

use gearmand_plugin_api::abi::MAX_REQUEST_BYTES;
use gearmand_plugin_api::size::{self, SizeError};
use gearmand_plugin_api::{export_protocol_plugin, OptionDef, Options, PluginInfo, ProtocolPlugin};
use std::fmt;

/// The gear port when neither `-p` nor `GEARMAND_PORT` says otherwise.
pub const DEFAULT_PORT: &str = "4730";

/// The plugin instance: the resolved port and the limits every connection's codec applies.
#[derive(Debug)]
pub struct Gear {
    port: String,
    limits: GearLimits,
}

impl PluginInfo for Gear {
    const NAME: &'static str = "gear";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Gear binary protocol and admin text protocol";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(
            "port",
            "Port the server should listen on.",
            Some(DEFAULT_PORT),
        )
        .with_short('p'),
        OptionDef::value(
            "max-packet-size",
            "Largest gear packet (header and body) accepted; larger ones get ERROR and a close.",
            Some(limits::DEFAULT_MAX_PACKET),
        ),
        OptionDef::value(
            "max-function-name",
            "Longest function name accepted in CAN_DO and SUBMIT_JOB packets.",
            Some(limits::DEFAULT_MAX_FUNCTION),
        ),
        OptionDef::value(
            "max-unique",
            "Longest unique key accepted (at most the protocol's 64).",
            Some(limits::DEFAULT_MAX_UNIQUE),
        ),
    ];
}

impl ProtocolPlugin for Gear {
    type Codec = GearCodec;
    type Error = LimitError;

    fn create(options: &Options) -> Result<Self, LimitError> {
        let given = options.get("port").unwrap_or_default();
        let env = std::env::var("GEARMAND_PORT").ok();
        let port = resolve_port(&given, env.as_deref());
        let limits = read_limits(options)?;
        Ok(Gear { port, limits })
    }

    fn listen_port(&self) -> &str {
        &self.port
    }

    fn open(&self, _peer: &str) -> GearCodec {
        GearCodec::with_limits(self.limits)
    }
}

/// A limit option the plugin refuses; startup stops with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// Not a size, or 0.
    NotPositive {
        option: &'static str,
        text: String,
        why: Option<SizeError>,
    },
    /// `--max-unique` over the protocol's limit.
    UniqueOverProtocol(usize),
    /// `--max-packet-size` smaller than a packet header.
    PacketBelowHeader,
    /// `--max-packet-size` over the host's request bound.
    PacketOverRequest(usize),
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::NotPositive { option, text, why } => {
                write!(f, "--{option}: '{text}' is not a positive size")?;
                match why {
                    Some(why) => write!(f, ": {why}"),
                    None => Ok(()),
                }
            }
            LimitError::UniqueOverProtocol(n) => write!(
                f,
                "--max-unique {n} is over the protocol's {}",
                limits::MAX_UNIQUE
            ),
            LimitError::PacketBelowHeader => {
                f.write_str("--max-packet-size must leave room for a 12-byte header")
            }
            LimitError::PacketOverRequest(n) => write!(
                f,
                "--max-packet-size {n} is over {}M, the largest request the host holds",
                MAX_REQUEST_BYTES >> 20
            ),
        }
    }
}

impl std::error::Error for LimitError {}

/// The limit options; a missing one keeps its default, a malformed one is a startup error.
fn read_limits(options: &Options) -> Result<GearLimits, LimitError> {
    let size = |option: &'static str, default: usize| -> Result<usize, LimitError> {
        let Some(text) = options.get(option) else {
            return Ok(default);
        };
        match size::parse_usize(&text) {
            Ok(0) => Err(LimitError::NotPositive {
                option,
                text,
                why: None,
            }),
            Ok(n) => Ok(n),
            Err(why) => Err(LimitError::NotPositive {
                option,
                text,
                why: Some(why),
            }),
        }
    };
    let d = GearLimits::DEFAULT;
    let limits = GearLimits {
        max_packet: size("max-packet-size", d.max_packet)?,
        max_function: size("max-function-name", d.max_function)?,
        max_unique: size("max-unique", d.max_unique)?,
    };
    if limits.max_unique > limits::MAX_UNIQUE {
        return Err(LimitError::UniqueOverProtocol(limits.max_unique));
    }
    if limits.max_packet < scan::HEADER_LEN {
        return Err(LimitError::PacketBelowHeader);
    }
    if limits.max_packet > MAX_REQUEST_BYTES {
        return Err(LimitError::PacketOverRequest(limits.max_packet));
    }
    Ok(limits)
}

/// The port to listen on: the option's value, except that the default yields to a non-empty
/// `GEARMAND_PORT` (as the original does), and an empty value means the default.
pub fn resolve_port(given: &str, env: Option<&str>) -> String {
    match env {
        Some(env) if !env.is_empty() && (given == DEFAULT_PORT || given.is_empty()) => {
            env.to_string()
        }
        _ if given.is_empty() => DEFAULT_PORT.to_string(),
        _ => given.to_string(),
    }
}

export_protocol_plugin!(Gear);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_default_yields_to_the_environment() {
        assert_eq!(resolve_port("4730", Some("5000")), "5000");
        assert_eq!(resolve_port("4730", Some("")), "4730");
        assert_eq!(resolve_port("4730", None), "4730");
    }

    #[test]
    fn an_explicit_port_wins_over_the_environment() {
        assert_eq!(resolve_port("0", Some("5000")), "0");
        assert_eq!(resolve_port("4731", None), "4731");
    }

    #[test]
    fn an_empty_port_means_the_default() {
        assert_eq!(resolve_port("", None), "4730");
    }

    #[test]
    fn create_reads_the_limits() {
        let gear = Gear::create(&Options::from_pairs([("max-packet-size", "1M")])).unwrap();
        assert_eq!(gear.limits.max_packet, 1 << 20);
        assert_eq!(gear.limits.max_unique, 64);
        assert!(Gear::create(&Options::from_pairs([("max-unique", "65")])).is_err());
        assert!(Gear::create(&Options::from_pairs([("max-packet-size", "x")])).is_err());
    }

    #[test]
    fn the_packet_limit_is_bounded_by_what_a_request_frame_holds() {
        let packet = |v: &str| Gear::create(&Options::from_pairs([("max-packet-size", v)]));
        assert_eq!(
            packet("4095M").unwrap().limits.max_packet,
            MAX_REQUEST_BYTES
        );
        let over = (MAX_REQUEST_BYTES + 1).to_string();
        for v in ["4G", "8G", over.as_str()] {
            let e = packet(v).unwrap_err().to_string();
            assert!(
                e.contains("--max-packet-size") && e.contains("4095M"),
                "{v}: {e}"
            );
        }
    }

    #[test]
    fn create_reads_the_port_option() {
        let gear = Gear::create(&Options::from_pairs([("port", "0")])).unwrap();
        assert_eq!(gear.listen_port(), "0");
    }
}
