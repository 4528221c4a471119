//! Reading a request body: `Content-Length` bytes, or `Transfer-Encoding: chunked` decoded.
//!
//! The reader consumes what it can from each input and appends the payload to a buffer the codec
//! owns (and reuses); it never waits for a whole body to sit in the host's buffer. Chunk-size lines
//! and trailers are only consumed once complete, so a partial line is offered again with more.
//!
//! `httparse::parse_chunk_size` reads a chunk-size line (the hex size and any extensions). Our
//! own code keeps the state machine around it, the limits (line length, body size, trailers),
//! a bare `\n` as line end (httparse wants `\r\n`; the original accepted both), and the answer
//! for a size of 16 hex digits (400 as before, where httparse would read it and we would say 413).
//! httparse refuses a size followed by a space and text that is not an extension (`5 x`), which
//! the hand parser let through.

use crate::head::{line_content, memchr, Framing, HttpError};
use crate::response::Status;

/// Longest chunk-size line (size, extensions, CRLF) accepted.
const MAX_CHUNK_LINE: usize = 1024;
/// Most hex digits a chunk size may have (60 bits).
const MAX_CHUNK_DIGITS: usize = 15;

/// Where the body reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyReader {
    /// `remaining` bytes of a Content-Length body still to come.
    Length { remaining: u64 },
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk's data.
    ChunkData { remaining: u64 },
    /// Expecting the CRLF that ends a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer lines until a blank one; `seen` bytes of them so far.
    Trailers { seen: usize },
    /// The body is complete.
    Done,
}

/// The outcome of one [`BodyReader::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The body is complete; `consumed` bytes of this input belonged to it.
    Done { consumed: usize },
    /// All of `consumed` was taken; the body needs more bytes.
    NeedMore { consumed: usize },
}

fn too_large() -> HttpError {
    HttpError::new(Status::PayloadTooLarge, "request body too large")
}

fn bad_chunk(reason: &'static str) -> HttpError {
    HttpError::new(Status::BadRequest, reason)
}

impl BodyReader {
    /// The reader for a body framed as `framing`; `None` when there is no body.
    pub fn new(framing: Framing) -> BodyReader {
        match framing {
            Framing::None | Framing::Length(0) => BodyReader::Done,
            Framing::Length(n) => BodyReader::Length { remaining: n },
            Framing::Chunked => BodyReader::ChunkSize,
        }
    }

    /// Takes body bytes from `input`, appending the payload to `body` (which must stay within
    /// `max_body` bytes).
    pub fn read(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
        max_body: usize,
        max_trailers: usize,
    ) -> Result<Progress, HttpError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            let step = match *self {
                BodyReader::Done => return Ok(Progress::Done { consumed: pos }),
                BodyReader::Length { remaining } => self.data(rest, remaining, body),
                BodyReader::ChunkData { remaining } => self.data(rest, remaining, body),
                BodyReader::ChunkSize => self.chunk_size(rest, body.len(), max_body)?,
                BodyReader::ChunkEnd => self.chunk_end(rest)?,
                BodyReader::Trailers { seen } => self.trailers(rest, seen, max_trailers)?,
            };
            match step {
                Some(n) => pos += n,
                None => return Ok(Progress::NeedMore { consumed: pos }),
            }
        }
    }

    /// Copies up to `remaining` payload bytes; `None` when the input is exhausted.
    fn data(&mut self, rest: &[u8], remaining: u64, body: &mut Vec<u8>) -> Option<usize> {
        if rest.is_empty() {
            return None;
        }
        let n = rest
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        body.extend_from_slice(&rest[..n]);
        let left = remaining - n as u64;
        *self = match (*self, left) {
            (BodyReader::Length { .. }, 0) => BodyReader::Done,
            (BodyReader::Length { .. }, _) => BodyReader::Length { remaining: left },
            (_, 0) => BodyReader::ChunkEnd,
            (_, _) => BodyReader::ChunkData { remaining: left },
        };
        Some(n)
    }

    /// `hex-size [; extensions] CRLF`; a size of 0 starts the trailers.
    fn chunk_size(
        &mut self,
        rest: &[u8],
        body_len: usize,
        max_body: usize,
    ) -> Result<Option<usize>, HttpError> {
        let Some(nl) = memchr(b'\n', rest) else {
            if rest.len() > MAX_CHUNK_LINE {
                return Err(bad_chunk("chunk size line too long"));
            }
            return Ok(None);
        };
        if nl + 1 > MAX_CHUNK_LINE {
            return Err(bad_chunk("chunk size line too long"));
        }
        let size = chunk_size_of(&rest[..=nl])?;
        if size > (max_body - body_len) as u64 {
            return Err(too_large());
        }
        *self = match size {
            0 => BodyReader::Trailers { seen: 0 },
            n => BodyReader::ChunkData { remaining: n },
        };
        Ok(Some(nl + 1))
    }

    /// The CRLF (or bare LF) after a chunk's data.
    fn chunk_end(&mut self, rest: &[u8]) -> Result<Option<usize>, HttpError> {
        let n = match rest {
            [] | [b'\r'] => return Ok(None),
            [b'\n', ..] => 1,
            [b'\r', b'\n', ..] => 2,
            _ => return Err(bad_chunk("chunk data not followed by CRLF")),
        };
        *self = BodyReader::ChunkSize;
        Ok(Some(n))
    }

    /// Trailer lines are read and ignored; a blank line ends the body.
    fn trailers(
        &mut self,
        rest: &[u8],
        seen: usize,
        max_trailers: usize,
    ) -> Result<Option<usize>, HttpError> {
        let Some(nl) = memchr(b'\n', rest) else {
            if seen + rest.len() > max_trailers {
                return Err(HttpError::new(Status::HeaderTooLarge, "trailers too large"));
            }
            return Ok(None);
        };
        let seen = seen + nl + 1;
        if seen > max_trailers {
            return Err(HttpError::new(Status::HeaderTooLarge, "trailers too large"));
        }
        *self = if line_content(&rest[..=nl]).is_empty() {
            BodyReader::Done
        } else {
            BodyReader::Trailers { seen }
        };
        Ok(Some(nl + 1))
    }
}

/// The size on one complete chunk-size line (ending in `\n`), read by httparse.
fn chunk_size_of(line: &[u8]) -> Result<u64, HttpError> {
    let malformed = || bad_chunk("malformed chunk size");
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > MAX_CHUNK_DIGITS {
        return Err(malformed());
    }
    let mut crlf = [0u8; MAX_CHUNK_LINE + 1];
    let line = if line.ends_with(b"\r\n") {
        line
    } else {
        // A bare `\n`: give httparse the `\r\n` it wants.
        let content = &line[..line.len() - 1];
        crlf[..content.len()].copy_from_slice(content);
        crlf[content.len()..content.len() + 2].copy_from_slice(b"\r\n");
        &crlf[..content.len() + 2]
    };
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((_, size))) => Ok(size),
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes the way the host does (unconsumed bytes come back).
    fn feed(framing: Framing, input: &[u8], step: usize) -> Result<Vec<u8>, HttpError> {
        let mut reader = BodyReader::new(framing);
        let mut body = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for piece in input.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            match reader.read(&pending, &mut body, 1 << 20, 1024)? {
                Progress::Done { consumed } => {
                    assert_eq!(consumed, pending.len(), "no bytes past the body here");
                    return Ok(body);
                }
                Progress::NeedMore { consumed } => {
                    pending.drain(..consumed);
                }
            }
        }
        panic!("body never completed; left {pending:?}");
    }

    #[test]
    fn content_length_in_any_pieces() {
        for step in [1, 2, 5, 100] {
            assert_eq!(
                feed(Framing::Length(11), b"hello world", step).unwrap(),
                b"hello world"
            );
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let wire = b"5;name=v\r\nhello\r\n6\r\n world\r\nA\n0123456789\n0\r\nX-T: 1\r\n\r\n";
        for step in [1, 3, 7, 1000] {
            assert_eq!(
                feed(Framing::Chunked, wire, step).unwrap(),
                b"hello world0123456789"
            );
        }
    }

    #[test]
    fn chunked_errors() {
        let mut huge_trailer = b"0\r\nX-Trailer: ".to_vec();
        huge_trailer.extend_from_slice(&[b'a'; 2000]);
        huge_trailer.extend_from_slice(b"\r\n\r\n");
        let cases: [(&[u8], Status); 5] = [
            (b"zz\r\n", Status::BadRequest),
            (b"5\r\nhelloXX", Status::BadRequest),
            (b"1234567890abcdef0\r\n", Status::BadRequest),
            (b"200000\r\n", Status::PayloadTooLarge),
            (&huge_trailer, Status::HeaderTooLarge),
        ];
        for (wire, status) in cases {
            let err = feed(Framing::Chunked, wire, 1).unwrap_err();
            assert_eq!(err.status, status, "{:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn endless_chunk_size_line_is_refused() {
        let wire = vec![b'0'; 2000];
        let err = feed(Framing::Chunked, &wire, 64).unwrap_err();
        assert_eq!(err.status, Status::BadRequest);
    }
}
