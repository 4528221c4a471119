//! Job handles on the wire: `<prefix>:<n>`, where `n` is the job's number in the job table.
//!
//! The wire handle is never stored: it is printed on the stack when a packet needs it
//! ([`HandleBuf`]) and parsed back to a number when a packet names it ([`parse_handle`]).
//! Parsing accepts only the canonical spelling, which keeps lookups exact byte compares as in the
//! original.

/// Room for the longest handle the engine prints: prefix, `:`, ten digits, and one spare byte.
const HANDLE_CAP: usize = 128;
/// Longest prefix that leaves room for `:<u32>` and the spare byte in [`HANDLE_CAP`].
pub(super) const MAX_PREFIX: usize = HANDLE_CAP - 12;

/// A printed job handle, on the stack.
pub(super) struct HandleBuf {
    buf: [u8; HANDLE_CAP],
    len: u8,
}

impl HandleBuf {
    /// `prefix` already ends with `:` and is at most [`MAX_PREFIX`] bytes.
    pub(super) fn new(prefix: &[u8], n: u32) -> HandleBuf {
        let mut buf = [0u8; HANDLE_CAP];
        let p = prefix.len().min(MAX_PREFIX);
        buf[..p].copy_from_slice(&prefix[..p]);
        let digits = super::num::Decimal::new(n as u64);
        let d = digits.as_bytes();
        buf[p..p + d.len()].copy_from_slice(d);
        HandleBuf {
            buf,
            len: (p + d.len()) as u8,
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// The handle number of `h` if it is exactly how this server prints handle `n`.
pub(super) fn parse_handle(prefix: &[u8], h: &[u8]) -> Option<u32> {
    let digits = h.strip_prefix(prefix)?;
    if digits.is_empty() || digits.len() > 10 || digits[0] == b'0' {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as u64;
    }
    u32::try_from(n).ok()
}
