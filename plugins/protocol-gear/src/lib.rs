//! The `gear` protocol plugin: the gear binary protocol and the admin text protocol on one port.
//!
//! The host always loads this plugin. It owns nothing but the port option and, per connection, a
//! [`GearCodec`] that splits the byte stream into requests (binary packets and admin lines) and
//! turns responses back into bytes. Framing rules live in [`scan`] (check a boundary: how long is
//! the next frame, or is it an error?) and [`codec`] (split a checked frame into arguments, encode
//! responses).
//!
//! TLS (`--ssl*`) options are declared so that they are accepted and shown in `--help`; TLS itself
//! comes with a later issue.

#![forbid(unsafe_code)]

pub mod codec;
pub mod scan;

pub use codec::GearCodec;

use gearmand_plugin_api::{export_protocol_plugin, OptionDef, Options, PluginInfo, ProtocolPlugin};

/// The gear port when neither `-p` nor `GEARMAND_PORT` says otherwise.
pub const DEFAULT_PORT: &str = "4730";

/// The plugin instance: the resolved port.
#[derive(Debug)]
pub struct Gear {
    port: String,
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
        OptionDef::switch("ssl", "Enable ssl connections."),
        OptionDef::value("ssl-ca-file", "CA file.", None),
        OptionDef::value("ssl-certificate", "SSL certificate.", None),
        OptionDef::value("ssl-key", "SSL key for certificate.", None),
    ];
}

impl ProtocolPlugin for Gear {
    type Codec = GearCodec;

    fn create(options: &Options) -> Result<Self, String> {
        let given = options.get("port").unwrap_or_default();
        let env = std::env::var("GEARMAND_PORT").ok();
        let port = resolve_port(&given, env.as_deref());
        if options.flag("ssl") {
            log::warn!("--ssl is accepted but TLS is not implemented yet; serving plain gear");
        }
        Ok(Gear { port })
    }

    fn listen_port(&self) -> &str {
        &self.port
    }

    fn open(&self, _peer: &str) -> GearCodec {
        GearCodec::new()
    }
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
    fn create_reads_the_port_option() {
        let gear = Gear::create(&Options::from_pairs([("port", "0")])).unwrap();
        assert_eq!(gear.listen_port(), "0");
    }
}
