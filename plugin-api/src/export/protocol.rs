//! The protocol half of the export glue: `extern "C"` shims from [`GmProtocolVtable`] to
//! [`ProtocolPlugin`] and its [`Codec`]. Decoding hands requests to the host's sink without
//! allocating; encoding gathers small pieces in one reused buffer per connection and hands big
//! ones to the host's writer directly ([`EncodeOut`]).

use super::{guarded, guarded_or, hand_over, install_logger, read_options, Failure};
use crate::abi::*;
use crate::gear::MAX_ARGS;
use crate::sdk::*;
use std::ffi::c_void;

pub(super) fn protocol_vtable<T: ProtocolPlugin>() -> GmProtocolVtable {
    GmProtocolVtable {
        create: p_create::<T>,
        listen_port: p_listen_port::<T>,
        conn_open: p_conn_open::<T>,
        conn_decode: p_conn_decode::<T>,
        conn_encode: p_conn_encode::<T>,
        conn_close: p_conn_close::<T>,
        destroy: p_destroy::<T>,
        conn_deadline: p_conn_deadline::<T>,
        conn_timeout: p_conn_timeout::<T>,
    }
}

/// Per-connection state: the plugin's codec and a reusable encode buffer, so encoding allocates
/// only until the buffer has grown to the largest response.
struct Conn<C> {
    codec: C,
    scratch: Vec<u8>,
}

unsafe extern "C" fn p_create<T: ProtocolPlugin>(
    host: *const GmHostApi,
    options: *const GmOptionValue,
    n_options: usize,
    instance: *mut *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        install_logger::<T>(host)?;
        let protocol = T::create(&read_options(options, n_options)).map_err(Failure::Plugin)?;
        Ok(hand_over(instance, protocol)?)
    })
}

unsafe extern "C" fn p_listen_port<T: ProtocolPlugin>(instance: *mut c_void) -> GmSlice {
    guarded_or(GmSlice::EMPTY, || match (instance as *const T).as_ref() {
        // The port string is borrowed from the instance, which lives until `destroy`.
        Some(protocol) => GmSlice::new(protocol.listen_port().as_bytes()),
        None => GmSlice::EMPTY,
    })
}

unsafe extern "C" fn p_conn_open<T: ProtocolPlugin>(
    instance: *mut c_void,
    peer: GmSlice,
) -> *mut c_void {
    guarded_or(std::ptr::null_mut(), || {
        let Some(protocol) = (instance as *const T).as_ref() else {
            return std::ptr::null_mut();
        };
        let peer = String::from_utf8_lossy(peer.as_bytes());
        let conn = Conn {
            codec: protocol.open(&peer),
            scratch: Vec::new(),
        };
        Box::into_raw(Box::new(conn)) as *mut c_void
    })
}

/// The host's sink and writer seen as a [`DecodeSink`].
struct FfiSink {
    sink: *const GmRequestSink,
    out: *const GmWriter,
}

impl DecodeSink for FfiSink {
    fn request(&mut self, kind: u32, args: &[&[u8]]) {
        let mut slices = [GmSlice::EMPTY; MAX_ARGS];
        let spilled: Vec<GmSlice>;
        let slices: &[GmSlice] = if args.len() <= MAX_ARGS {
            for (s, a) in slices.iter_mut().zip(args) {
                *s = GmSlice::new(a);
            }
            &slices[..args.len()]
        } else {
            spilled = args.iter().map(|a| GmSlice::new(a)).collect();
            &spilled
        };
        let request = GmRequest {
            kind,
            args: slices.as_ptr(),
            n_args: slices.len(),
        };
        // SAFETY: `sink` was checked non-null in `p_conn_decode` and is valid during the call;
        // the request borrows `args`, which outlive the callback (the host copies it).
        unsafe { ((*self.sink).request)((*self.sink).ctx, &request) }
    }

    fn write(&mut self, bytes: &[u8]) {
        // SAFETY: `out` was checked non-null in `p_conn_decode` and is valid during the call.
        unsafe { ((*self.out).write)((*self.out).ctx, GmSlice::new(bytes)) }
    }
}

fn next_status(d: Next) -> GmStatus {
    match d {
        Next::Continue => GmStatus::OK,
        Next::Close => GmStatus::CLOSE,
    }
}

unsafe extern "C" fn p_conn_decode<T: ProtocolPlugin>(
    conn: *mut c_void,
    input: GmSlice,
    consumed: *mut usize,
    sink: *const GmRequestSink,
    out: *const GmWriter,
) -> GmStatus {
    guarded_or(GmStatus::PANIC, || {
        let Some(conn) = (conn as *mut Conn<T::Codec>).as_mut() else {
            return GmStatus::CLOSE;
        };
        if sink.is_null() || out.is_null() || consumed.is_null() {
            return GmStatus::CLOSE;
        }
        let mut ffi = FfiSink { sink, out };
        let (used, decoded) = conn.codec.decode(input.as_bytes(), &mut ffi);
        *consumed = used.min(input.len);
        next_status(decoded)
    })
}

unsafe extern "C" fn p_conn_encode<T: ProtocolPlugin>(
    conn: *mut c_void,
    response: *const GmResponse,
    out: *const GmWriter,
) -> GmStatus {
    guarded_or(GmStatus::PANIC, || {
        let Some(conn) = (conn as *mut Conn<T::Codec>).as_mut() else {
            return GmStatus::CLOSE;
        };
        let (Some(response), Some(out)) = (response.as_ref(), out.as_ref()) else {
            return GmStatus::CLOSE;
        };
        let raw: &[GmSlice] = if response.n_args == 0 || response.args.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(response.args, response.n_args)
        };
        let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
        let spilled: Vec<&[u8]>;
        let args: &[&[u8]] = if raw.len() <= MAX_ARGS {
            for (a, s) in args.iter_mut().zip(raw) {
                *a = s.as_bytes();
            }
            &args[..raw.len()]
        } else {
            spilled = raw.iter().map(|s| s.as_bytes()).collect();
            &spilled
        };
        // SAFETY (of the closure's call): `out` is valid for this call, the slice for the write.
        let mut host = |bytes: &[u8]| unsafe { (out.write)(out.ctx, GmSlice::new(bytes)) };
        let mut sink = EncodeOut::new(&mut conn.scratch, &mut host);
        let decoded = conn.codec.encode_to(response.kind, args, &mut sink);
        sink.finish();
        next_status(decoded)
    })
}

/// A deadline as the ABI wants it: whole milliseconds from now, rounded up; -1 for none.
fn deadline_ms(d: Option<std::time::Duration>) -> i64 {
    match d {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            i64::try_from(ms).unwrap_or(i64::MAX)
        }
    }
}

unsafe extern "C" fn p_conn_deadline<T: ProtocolPlugin>(conn: *mut c_void) -> i64 {
    guarded_or(-1, || match (conn as *const Conn<T::Codec>).as_ref() {
        Some(conn) => deadline_ms(conn.codec.deadline()),
        None => -1,
    })
}

unsafe extern "C" fn p_conn_timeout<T: ProtocolPlugin>(
    conn: *mut c_void,
    out: *const GmWriter,
) -> GmStatus {
    guarded_or(GmStatus::PANIC, || {
        let (Some(conn), Some(out)) = ((conn as *mut Conn<T::Codec>).as_mut(), out.as_ref()) else {
            return GmStatus::CLOSE;
        };
        conn.scratch.clear();
        let decoded = conn.codec.timeout(&mut conn.scratch);
        if !conn.scratch.is_empty() {
            (out.write)(out.ctx, GmSlice::new(&conn.scratch));
        }
        next_status(decoded)
    })
}

unsafe extern "C" fn p_conn_close<T: ProtocolPlugin>(conn: *mut c_void) {
    if conn.is_null() {
        return;
    }
    // SAFETY: the host closes each connection once, with a pointer `p_conn_open` produced.
    let conn = Box::from_raw(conn as *mut Conn<T::Codec>);
    guarded_or((), move || drop(conn));
}

unsafe extern "C" fn p_destroy<T: ProtocolPlugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: the host destroys an instance once, with a pointer `p_create` produced.
    let protocol = Box::from_raw(instance as *mut T);
    guarded_or((), move || drop(protocol));
}
