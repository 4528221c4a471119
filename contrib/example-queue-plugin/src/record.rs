//! The on-disk record format of the append file, and nothing else: encoding a record into bytes
//! and reading one back from a stream, checked by a CRC-32.
//!
//! ```text
//! file   := MAGIC record*
//! record := body_len u32 | crc32(body) u32 | body
//! body   := tag u8 | priority u32 | when i64 | unique_len u32 | unique | function_len u32
//!           | function | data (the rest of the body)
//! ```
//! Numbers are little-endian. Tag `A` adds (or replaces) the job (unique, function); tag `D`
//! removes it (its priority, when and data are empty). A record that is cut short or fails its
//! CRC is a torn write: the caller decides what that means.

use std::fmt;
use std::io::{self, Read};

/// A job whose record would be longer than a record may be: its body length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a job of {} bytes is too large", self.0)
    }
}

/// The first bytes of every append file.
pub const MAGIC: &[u8; 6] = b"GMAF1\n";
/// Adds (or replaces) a job.
pub const TAG_ADD: u8 = b'A';
/// Removes a job.
pub const TAG_DONE: u8 = b'D';
/// Bytes before the body: its length and its CRC.
const FRAME: usize = 8;
/// Fixed part of a body: tag, priority, when, unique length.
const FIXED: usize = 1 + 4 + 8 + 4;
/// Refuse absurd lengths before allocating (a torn length field can say anything).
const MAX_BODY: usize = 1 << 30;

/// One record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// [`TAG_ADD`] or [`TAG_DONE`].
    pub tag: u8,
    /// 0 high, 1 normal, 2 low.
    pub priority: u32,
    /// Epoch seconds, 0 = now.
    pub when: i64,
    /// The job's unique id.
    pub unique: Vec<u8>,
    /// The job's function name.
    pub function: Vec<u8>,
    /// The payload (empty for [`TAG_DONE`]).
    pub data: Vec<u8>,
}

/// What reading the next record found.
#[derive(Debug)]
pub enum Next {
    /// A whole, intact record of `len` bytes on disk.
    Record(Record, u64),
    /// A clean end of file, between two records.
    End,
    /// A record cut short or failing its CRC: a write that never completed.
    Torn,
}

/// Appends the encoding of one record to `out`.
pub fn encode(
    out: &mut Vec<u8>,
    tag: u8,
    priority: u32,
    when: i64,
    fields: [&[u8]; 3],
) -> Result<(), TooLarge> {
    let [unique, function, data] = fields;
    let body_len = FIXED + unique.len() + 4 + function.len() + data.len();
    let len = u32::try_from(body_len)
        .ok()
        .filter(|_| body_len <= MAX_BODY)
        .ok_or(TooLarge(body_len))?;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // the CRC, filled in below
    out.push(tag);
    out.extend_from_slice(&priority.to_le_bytes());
    out.extend_from_slice(&when.to_le_bytes());
    out.extend_from_slice(&(unique.len() as u32).to_le_bytes());
    out.extend_from_slice(unique);
    out.extend_from_slice(&(function.len() as u32).to_le_bytes());
    out.extend_from_slice(function);
    out.extend_from_slice(data);
    let crc = crc32(&out[start + FRAME..]);
    out[start + 4..start + FRAME].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Reads the next record from `input`; `buf` is reused between calls.
pub fn read_next(input: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Next> {
    let mut frame = [0u8; FRAME];
    match read_full(input, &mut frame)? {
        0 => return Ok(Next::End),
        n if n < FRAME => return Ok(Next::Torn),
        _ => {}
    }
    let len = u32::from_le_bytes(frame[..4].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(frame[4..].try_into().unwrap_or_default());
    if !(FIXED + 4..=MAX_BODY).contains(&len) {
        return Ok(Next::Torn);
    }
    buf.resize(len, 0);
    if read_full(input, buf)? < len || crc32(buf) != crc {
        return Ok(Next::Torn);
    }
    Ok(match decode_body(buf) {
        Some(record) => Next::Record(record, (FRAME + len) as u64),
        None => Next::Torn,
    })
}

fn decode_body(mut body: &[u8]) -> Option<Record> {
    let tag = take(&mut body, 1)?[0];
    let priority = u32::from_le_bytes(take(&mut body, 4)?.try_into().ok()?);
    let when = i64::from_le_bytes(take(&mut body, 8)?.try_into().ok()?);
    let unique_len = u32::from_le_bytes(take(&mut body, 4)?.try_into().ok()?) as usize;
    let unique = take(&mut body, unique_len)?.to_vec();
    let function_len = u32::from_le_bytes(take(&mut body, 4)?.try_into().ok()?) as usize;
    let function = take(&mut body, function_len)?.to_vec();
    if tag != TAG_ADD && tag != TAG_DONE {
        return None;
    }
    Some(Record {
        tag,
        priority,
        when,
        unique,
        function,
        data: body.to_vec(),
    })
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if bytes.len() < n {
        return None;
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Some(head)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc = CRC_TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn records_round_trip_and_torn_ones_are_noticed() {
        let mut bytes = Vec::new();
        encode(&mut bytes, TAG_ADD, 2, -5, [b"u\0", b"f-'\\", b"\0data"]).unwrap();
        encode(&mut bytes, TAG_DONE, 0, 0, [b"", b"f", b""]).unwrap();
        let mut input = &bytes[..];
        let mut buf = Vec::new();
        let Next::Record(r, _) = read_next(&mut input, &mut buf).unwrap() else {
            panic!("first record")
        };
        assert_eq!((r.tag, r.priority, r.when), (TAG_ADD, 2, -5));
        assert_eq!(
            (&r.unique[..], &r.function[..]),
            (&b"u\0"[..], &b"f-'\\"[..])
        );
        assert_eq!(r.data, b"\0data");
        assert!(matches!(
            read_next(&mut input, &mut buf).unwrap(),
            Next::Record(..)
        ));
        assert!(matches!(
            read_next(&mut input, &mut buf).unwrap(),
            Next::End
        ));
        // Cut the last record short, then flip a byte of the first: both are torn writes.
        let mut cut = &bytes[..bytes.len() - 1];
        read_next(&mut cut, &mut buf).unwrap();
        assert!(matches!(read_next(&mut cut, &mut buf).unwrap(), Next::Torn));
        let mut flipped = bytes.clone();
        flipped[10] ^= 1;
        assert!(matches!(
            read_next(&mut &flipped[..], &mut buf).unwrap(),
            Next::Torn
        ));
    }
}
