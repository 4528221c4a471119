//! Adapters from the plugin loader to the seams of config and runtime: the registry as the
//! command line's [`Catalog`], and loaded protocols and codecs as [`WireProtocol`]/[`WireCodec`].

use super::wire::{Decoded, Sink, WireCodec, WireProtocol};
use crate::config::{Catalog, Kind, OptionInfo, PluginInfo};
use crate::frame::Frame;
use crate::plugin::{Codec, PluginKind, PluginMeta, Protocol, Registry};

/// The loader's kind for the config's.
pub fn plugin_kind(k: Kind) -> PluginKind {
    match k {
        Kind::Queue => PluginKind::Queue,
        Kind::Protocol => PluginKind::Protocol,
    }
}

fn info(m: &PluginMeta) -> PluginInfo {
    PluginInfo {
        name: m.name.clone(),
        aliases: m.aliases.clone(),
        kind: match m.kind {
            PluginKind::Queue => Kind::Queue,
            PluginKind::Protocol => Kind::Protocol,
        },
        version: m.version.clone(),
        description: m.description.clone(),
        options: m
            .options
            .iter()
            .map(|o| OptionInfo {
                name: o.name.clone(),
                help: o.help.clone(),
                default: o.default.clone(),
                short: o.short,
                takes_value: o.takes_value,
                alias_of: o.alias_of.clone(),
            })
            .collect(),
    }
}

impl Catalog for Registry {
    fn installed(&self) -> Vec<PluginInfo> {
        Registry::installed(self).iter().map(info).collect()
    }

    fn resolve(&self, kind: Kind, name: &str) -> Result<String, String> {
        self.find(plugin_kind(kind), name)
            .map(|m| m.name.clone())
            .map_err(|e| e.to_string())
    }
}

impl WireProtocol for Protocol {
    fn name(&self) -> &'static str {
        Protocol::name(self)
    }
    fn listen_port(&self) -> String {
        Protocol::listen_port(self)
    }
    fn open(&self, peer: &str) -> Option<Box<dyn WireCodec>> {
        Protocol::open(self, peer).map(|c| Box::new(c) as Box<dyn WireCodec>)
    }
}

impl WireCodec for Codec {
    fn decode(
        &mut self,
        input: &[u8],
        on_request: &mut dyn FnMut(Frame),
        out: &mut Vec<u8>,
    ) -> (usize, Decoded) {
        Codec::decode(self, input, on_request, out)
    }
    fn encode(&mut self, frame: &Frame, out: &mut dyn Sink) -> Decoded {
        Codec::encode(self, frame, out)
    }
    fn deadline(&mut self) -> Option<std::time::Duration> {
        Codec::deadline(self)
    }
    fn timeout(&mut self, out: &mut Vec<u8>) -> Decoded {
        Codec::timeout(self, out)
    }
}
