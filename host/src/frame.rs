//! `Frame`: one gear request or response inside the host, owned, in a single allocation.
//!
//! Protocol plugins hand requests across the ABI as borrowed argument slices; the I/O thread copies
//! them into a `Frame` (one buffer holding every argument back to back, plus their end offsets) so
//! they can travel to the processing thread. Responses travel the other way in the same shape and
//! are turned back into borrowed slices for the plugin's encoder.

use crate::config::MAX_JOB_HANDLE;
use gearmand_plugin_api::abi::MAX_REQUEST_BYTES;
use gearmand_plugin_api::gear::MAX_ARGS;

// A reply repeats at most a request's arguments plus a job handle (JOB_ASSIGN_UNIQ, say); that
// must fit the u32 offsets, which is why every size limit is bounded by MAX_REQUEST_BYTES.
const _: () = assert!(MAX_REQUEST_BYTES + MAX_JOB_HANDLE <= u32::MAX as usize);

/// A request or response: a kind (gear packet type or an ABI host kind) and up to
/// [`MAX_ARGS`] arguments.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    kind: u32,
    buf: Vec<u8>,
    ends: [u32; MAX_ARGS],
    n: u8,
}

impl Frame {
    /// A frame with no arguments.
    pub fn new(kind: u32) -> Frame {
        Frame {
            kind,
            buf: Vec::new(),
            ends: [0; MAX_ARGS],
            n: 0,
        }
    }

    /// A frame with the given arguments; panics past [`MAX_ARGS`] (a programming error).
    pub fn with_args(kind: u32, args: &[&[u8]]) -> Frame {
        let total = args.iter().map(|a| a.len()).sum();
        let mut f = Frame {
            kind,
            buf: Vec::with_capacity(total),
            ends: [0; MAX_ARGS],
            n: 0,
        };
        for a in args {
            f.push(a);
        }
        f
    }

    /// Appends one argument. Requests over [`MAX_REQUEST_BYTES`] never get here (see
    /// [`Frame::holds`]), so the u32 offset cannot wrap.
    pub fn push(&mut self, arg: &[u8]) {
        assert!(
            (self.n as usize) < MAX_ARGS,
            "frame holds at most {MAX_ARGS} arguments"
        );
        self.buf.extend_from_slice(arg);
        debug_assert!(
            self.buf.len() <= u32::MAX as usize,
            "frame over u32 offsets"
        );
        self.ends[self.n as usize] = self.buf.len() as u32;
        self.n += 1;
    }

    /// Whether a request with arguments of `total` bytes is one the host accepts: its frame,
    /// and any reply that repeats it with a job handle, keep their offsets within u32.
    pub fn holds(total: usize) -> bool {
        total <= MAX_REQUEST_BYTES
    }

    pub fn kind(&self) -> u32 {
        self.kind
    }

    /// Number of arguments.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Argument `i`, or an empty slice past the end (a short request reads as empty arguments).
    pub fn arg(&self, i: usize) -> &[u8] {
        if i >= self.n as usize {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// Iterates over the arguments.
    pub fn args(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| self.arg(i))
    }

    /// The same arguments under another kind (an answer that repeats its request).
    pub fn retyped(mut self, kind: u32) -> Frame {
        self.kind = kind;
        self
    }

    /// The arguments' bytes back to back, the frame consumed (a job keeps a request's buffer).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Total bytes of argument data held (for memory accounting).
    pub fn payload_len(&self) -> usize {
        self.buf.len()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_tuple(gearmand_plugin_api::gear::name(self.kind));
        for a in self.args() {
            d.field(&String::from_utf8_lossy(a));
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip_including_empty_ones() {
        let f = Frame::with_args(7, &[b"fn", b"", b"data\0x"]);
        assert_eq!(f.len(), 3);
        assert_eq!(f.arg(0), b"fn");
        assert_eq!(f.arg(1), b"");
        assert_eq!(f.arg(2), b"data\0x");
        assert_eq!(f.arg(3), b"");
    }

    #[test]
    fn the_request_bound_leaves_room_for_a_handle_within_u32() {
        assert!(Frame::holds(0));
        assert!(Frame::holds(MAX_REQUEST_BYTES));
        assert!(!Frame::holds(MAX_REQUEST_BYTES + 1));
        assert_eq!(MAX_REQUEST_BYTES, 4095 << 20);
        assert!(MAX_REQUEST_BYTES + MAX_JOB_HANDLE <= u32::MAX as usize);
    }
}
