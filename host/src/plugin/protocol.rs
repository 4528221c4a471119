//! `Protocol` and `Codec`: a loaded protocol plugin as the I/O threads use it. A `Protocol` is
//! shared by every thread (cheap to clone); each connection gets its own `Codec`.

use super::ffi::{ConnInstance, ProtocolInstance, Status};
use crate::frame::Frame;
use gearmand_plugin_api::Decoded;
use std::sync::Arc;
use std::time::Duration;

/// Where an encoded response goes. The connection's output buffer is one (bytes are appended);
/// the I/O thread's other one writes a large piece straight to an idle socket instead of copying
/// it first (runtime/direct.rs). A codec may hand over one response in several pieces.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A started protocol plugin.
#[derive(Clone)]
pub struct Protocol {
    name: &'static str,
    instance: Arc<ProtocolInstance>,
}

impl std::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protocol")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Protocol {
    pub(super) fn new(name: &str, instance: ProtocolInstance) -> Protocol {
        Protocol {
            // Leaked once per started plugin so connections can carry it as `&'static str`.
            name: Box::leak(name.to_string().into_boxed_str()),
            instance: Arc::new(instance),
        }
    }

    /// The plugin's name (`gear`, `http`), as [`crate::msg::ConnInfo::protocol`] wants it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The port (number or service name) to listen on; `"0"` means any free port.
    pub fn listen_port(&self) -> String {
        self.instance.listen_port()
    }

    /// A codec for a new connection from `peer`; `None` if the plugin refused it.
    pub fn open(&self, peer: &str) -> Option<Codec> {
        Some(Codec {
            conn: self.instance.open(peer)?,
            _protocol: Arc::clone(&self.instance),
        })
    }
}

/// One connection's codec. Dropping it tells the plugin the connection is gone.
pub struct Codec {
    // Declared first so it is dropped (closed) before the protocol instance it belongs to.
    conn: ConnInstance,
    _protocol: Arc<ProtocolInstance>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").finish_non_exhaustive()
    }
}

fn decoded(s: Status) -> Decoded {
    match s {
        Status::Continue => Decoded::Continue,
        Status::Close => Decoded::Close,
    }
}

impl Codec {
    /// Decodes whole requests from `input`, handing each to `on_request` and appending any
    /// immediate reply (e.g. a protocol error) to `out`. Returns the bytes consumed (keep the
    /// rest and offer it again with more) and whether to keep the connection.
    pub fn decode(
        &mut self,
        input: &[u8],
        on_request: &mut dyn FnMut(Frame),
        out: &mut Vec<u8>,
    ) -> (usize, Decoded) {
        let (used, status) = self.conn.decode(input, on_request, out);
        (used, decoded(status))
    }

    /// Puts the wire bytes of `resp` into `out`; `Close` asks to close after flushing.
    pub fn encode(&mut self, resp: &Frame, out: &mut dyn Sink) -> Decoded {
        decoded(self.conn.encode(resp, out))
    }

    /// How long from now until [`Codec::timeout`] is due; `None` for no deadline (always for
    /// a plugin built for ABI 1.0). Ask again after every call into the codec.
    pub fn deadline(&mut self) -> Option<Duration> {
        self.conn.deadline()
    }

    /// The deadline passed: the plugin may append last bytes (e.g. a `408`) to `out`.
    pub fn timeout(&mut self, out: &mut Vec<u8>) -> Decoded {
        decoded(self.conn.timeout(out))
    }
}
