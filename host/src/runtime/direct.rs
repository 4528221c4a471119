//! Writing a large piece of a response straight to the socket instead of copying it into the
//! connection's output buffer first.
//!
//! A codec hands a response over in pieces ([`Sink::put`]); the gear plugin passes a big payload
//! (the data of a JOB_ASSIGN or WORK_COMPLETE) as one piece that points into the engine's frame.
//! On a plain socket that is not known to be full, a piece of [`DIRECT_MIN`] bytes or more goes
//! out at once, in one `writev` with whatever of the buffer is still unsent (so the order of bytes
//! is kept); only what the socket did not take is copied into the buffer. That saves one copy of
//! the piece for a syscall the flush at the end of the round would mostly have made anyway. It
//! can cost an extra syscall when more replies for the same connection follow in the same round,
//! which is why smaller pieces are still buffered, where several replies share one send. The
//! line at 32 KiB is a judgement, not a sweep: a send of that size is mostly the kernel copying
//! the bytes, so one extra call costs less than the copy it saves.

use super::wire::Sink;
use mio::net::TcpStream;
use std::io::{IoSlice, Write};

/// The smallest piece written directly.
pub const DIRECT_MIN: usize = 32 * 1024;

/// A [`Sink`] over a connection's output buffer that writes big pieces directly.
pub struct Direct<'a> {
    out: &'a mut Vec<u8>,
    /// How much of `out` is already written (the connection's `written`).
    written: &'a mut usize,
    stream: &'a mut TcpStream,
    /// The socket refused bytes (full, or failed): buffer everything else of this response and
    /// leave it to the flush, which registers for WRITABLE or reports the error.
    blocked: bool,
}

impl<'a> Direct<'a> {
    pub fn new(out: &'a mut Vec<u8>, written: &'a mut usize, stream: &'a mut TcpStream) -> Self {
        Direct {
            out,
            written,
            stream,
            blocked: false,
        }
    }

    /// Writes the unsent buffer and `piece` together; what the socket does not take stays in,
    /// or is copied to, the buffer. True if the socket took everything.
    fn write_through(&mut self, piece: &[u8]) -> bool {
        let unsent = &self.out[*self.written..];
        let bufs = [IoSlice::new(unsent), IoSlice::new(piece)];
        // An error (WouldBlock, Interrupted, or a failure the flush will run into again) takes
        // nothing.
        let n = self.stream.write_vectored(&bufs).unwrap_or(0);
        if n < unsent.len() {
            *self.written += n;
            self.out.extend_from_slice(piece);
            return false;
        }
        let taken = n - unsent.len();
        self.out.clear();
        *self.written = 0;
        self.out.extend_from_slice(&piece[taken..]);
        taken == piece.len()
    }
}

impl Sink for Direct<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() < DIRECT_MIN || self.blocked {
            self.out.extend_from_slice(bytes);
        } else {
            self.blocked = !self.write_through(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream as StdStream};

    /// A connected pair: our non-blocking end (as the I/O thread has it) and the peer's.
    fn pair() -> (TcpStream, StdStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = StdStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        (TcpStream::from_std(ours), peer)
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    fn read_exact(peer: &mut StdStream, n: usize) -> Vec<u8> {
        let mut got = vec![0; n];
        peer.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn a_big_piece_goes_out_at_once_after_what_was_buffered() {
        let (mut ours, mut peer) = pair();
        let (mut out, mut written) = (b"header".to_vec(), 0);
        let big = payload(DIRECT_MIN * 2);
        let mut sink = Direct::new(&mut out, &mut written, &mut ours);
        sink.put(&big);
        sink.put(b"tail");
        // The buffered header and the piece went out; the small tail waits for the flush.
        assert_eq!((out.as_slice(), written), (&b"tail"[..], 0));
        assert_eq!(read_exact(&mut peer, 6), b"header");
        assert_eq!(read_exact(&mut peer, big.len()), big);
    }

    #[test]
    fn small_pieces_are_only_buffered() {
        let (mut ours, _peer) = pair();
        let (mut out, mut written) = (Vec::new(), 0);
        let piece = payload(DIRECT_MIN - 1);
        Direct::new(&mut out, &mut written, &mut ours).put(&piece);
        assert_eq!((out, written), (piece, 0));
    }

    #[test]
    fn what_a_full_socket_refuses_is_buffered_in_order() {
        let (mut ours, mut peer) = pair();
        // Fill the socket until it takes nothing more.
        let filler = payload(64 * 1024);
        let mut sent = 0;
        while let Ok(n) = ours.write(&filler) {
            sent += n;
        }
        let (mut out, mut written) = (b"queued".to_vec(), 0);
        let big = payload(DIRECT_MIN * 4);
        let mut sink = Direct::new(&mut out, &mut written, &mut ours);
        sink.put(&big);
        sink.put(&payload(DIRECT_MIN)); // after a refusal: buffered without trying
        let expected: Vec<u8> = [&b"queued"[..], &big, &payload(DIRECT_MIN)].concat();
        // Whatever the socket took is the start of what was expected; the rest is buffered.
        let left = out.len() - written;
        assert!(left >= DIRECT_MIN, "the full socket took nearly everything");
        let took = expected.len() - left;
        assert_eq!(&out[written..], &expected[took..]);

        // The peer drains the socket while the rest is written out the way a flush does:
        // writing until the socket is full, then waiting for it to be writable again.
        let total = sent + expected.len();
        let reader = std::thread::spawn(move || read_exact(&mut peer, total));
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(4);
        let interest = mio::Interest::WRITABLE;
        poll.registry()
            .register(&mut ours, mio::Token(0), interest)
            .unwrap();
        while written < out.len() {
            match ours.write(&out[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    poll.poll(&mut events, None).unwrap()
                }
                Err(e) => panic!("write failed: {e}"),
            }
        }
        let got = reader.join().unwrap();
        assert_eq!(&got[sent..], expected.as_slice());
    }
}
