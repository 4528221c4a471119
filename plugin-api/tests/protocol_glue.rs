//! `export_protocol_plugin!` driven through its header and vtable as the host drives it: the
//! ABI 1.1 per-connection timer (`conn_deadline` rounds the codec's deadline up to whole
//! milliseconds, or -1 for none; `conn_timeout` passes the codec's last bytes and verdict on),
//! and `conn_encode` handing big pieces to the host's writer without a copy.

use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::{
    Codec, DecodeSink, EncodeOut, Next, Options, PluginInfo, ProtocolPlugin,
};
use std::ffi::c_void;
use std::time::Duration;

/// A codec whose deadline is whatever the peer string says, in microseconds ("none" = none).
struct Timed {
    deadline: Option<Duration>,
}

impl Codec for Timed {
    fn decode(&mut self, input: &[u8], _: &mut dyn DecodeSink) -> (usize, Next) {
        (input.len(), Next::Continue)
    }
    fn encode(&mut self, _: u32, _: &[&[u8]], _: &mut Vec<u8>) -> Next {
        Next::Continue
    }
    /// `<` each argument `>`, through [`EncodeOut::put`].
    fn encode_to(&mut self, _: u32, args: &[&[u8]], out: &mut EncodeOut<'_>) -> Next {
        for a in args {
            out.put(b"<");
            out.put(a);
            out.put(b">");
        }
        Next::Continue
    }
    fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
    fn timeout(&mut self, out: &mut Vec<u8>) -> Next {
        out.extend_from_slice(b"too slow");
        self.deadline = None;
        Next::Close
    }
}

struct TimedProtocol;

impl PluginInfo for TimedProtocol {
    const NAME: &'static str = "timed";
    const VERSION: &'static str = "1.1";
    const DESCRIPTION: &'static str = "glue test";
}

impl ProtocolPlugin for TimedProtocol {
    type Codec = Timed;
    type Error = String;
    fn create(_: &Options) -> Result<Self, String> {
        Ok(TimedProtocol)
    }
    fn listen_port(&self) -> &str {
        "0"
    }
    fn open(&self, peer: &str) -> Timed {
        Timed {
            deadline: peer.parse().ok().map(Duration::from_micros),
        }
    }
}

gearmand_plugin_api::export_protocol_plugin!(TimedProtocol);

unsafe extern "C" fn append(ctx: *mut c_void, bytes: GmSlice) {
    (*(ctx as *mut Vec<u8>)).extend_from_slice(bytes.as_bytes());
}

#[test]
fn the_v1_1_timer_fields_reach_the_codec() {
    let header = unsafe { &*gearmand_plugin_entry() };
    assert_eq!((header.abi_major, header.abi_minor), (1, 4));
    assert_eq!(header.vtable_size, std::mem::size_of::<GmProtocolVtable>());
    let vt = unsafe { &*(header.vtable as *const GmProtocolVtable) };
    // The instance is a zero-sized type: any non-null pointer the glue hands back will do.
    let instance = Box::into_raw(Box::new(TimedProtocol)) as *mut c_void;
    let open = |peer: &str| unsafe { (vt.conn_open)(instance, GmSlice::new(peer.as_bytes())) };

    let none = open("none");
    assert_eq!(unsafe { (vt.conn_deadline)(none) }, -1);
    let exact = open("2000");
    assert_eq!(unsafe { (vt.conn_deadline)(exact) }, 2);
    let rounded_up = open("1");
    assert_eq!(
        unsafe { (vt.conn_deadline)(rounded_up) },
        1,
        "0 would mean due now"
    );
    let now = open("0");
    assert_eq!(unsafe { (vt.conn_deadline)(now) }, 0);

    let mut out = Vec::new();
    let writer = GmWriter {
        ctx: &mut out as *mut Vec<u8> as *mut c_void,
        write: append,
    };
    assert_eq!(
        unsafe { (vt.conn_timeout)(exact, &writer) },
        GmStatus::CLOSE
    );
    assert_eq!(out, b"too slow");
    assert_eq!(unsafe { (vt.conn_deadline)(exact) }, -1);
    // Null pointers are refused, not dereferenced.
    assert_eq!(unsafe { (vt.conn_deadline)(std::ptr::null_mut()) }, -1);
    assert_eq!(
        unsafe { (vt.conn_timeout)(std::ptr::null_mut(), &writer) },
        GmStatus::CLOSE
    );
    for c in [none, exact, rounded_up, now] {
        unsafe { (vt.conn_close)(c) };
    }
    unsafe { (vt.destroy)(instance) };
}

/// `GmWriter::write` keeping every call apart, with where its bytes were.
unsafe extern "C" fn record(ctx: *mut c_void, bytes: GmSlice) {
    let calls = &mut *(ctx as *mut Vec<(usize, Vec<u8>)>);
    calls.push((bytes.ptr as usize, bytes.as_bytes().to_vec()));
}

#[test]
fn encoding_gathers_small_pieces_and_hands_big_ones_over_uncopied() {
    let header = unsafe { &*gearmand_plugin_entry() };
    let vt = unsafe { &*(header.vtable as *const GmProtocolVtable) };
    let instance = Box::into_raw(Box::new(TimedProtocol)) as *mut c_void;
    let conn = unsafe { (vt.conn_open)(instance, GmSlice::new(b"none")) };
    let big = vec![7u8; EncodeOut::PASS_MIN];
    let args = [GmSlice::new(b"a"), GmSlice::new(&big), GmSlice::new(b"b")];
    let response = GmResponse {
        kind: 1,
        args: args.as_ptr(),
        n_args: args.len(),
    };
    let mut calls: Vec<(usize, Vec<u8>)> = Vec::new();
    let writer = GmWriter {
        ctx: &mut calls as *mut Vec<(usize, Vec<u8>)> as *mut c_void,
        write: record,
    };
    assert_eq!(
        unsafe { (vt.conn_encode)(conn, &response, &writer) },
        GmStatus::OK
    );
    let bytes: Vec<&[u8]> = calls.iter().map(|(_, b)| b.as_slice()).collect();
    assert_eq!(bytes, [&b"<a><"[..], &big[..], &b"><b>"[..]], "in order");
    assert_eq!(calls[1].0, big.as_ptr() as usize, "the host's own slice");
    // A second response reuses the buffer and starts empty.
    let small = [GmSlice::new(b"c")];
    let response = GmResponse {
        kind: 1,
        args: small.as_ptr(),
        n_args: 1,
    };
    calls.clear();
    unsafe { (vt.conn_encode)(conn, &response, &writer) };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, b"<c>");
    unsafe { (vt.conn_close)(conn) };
    unsafe { (vt.destroy)(instance) };
}
