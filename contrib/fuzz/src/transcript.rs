//! Feeding a codec exactly as the host does, and recording what it hands back.
//!
//! The host keeps the bytes a codec did not consume, appends what the socket delivers next and
//! calls `decode` again; after `Next::Close` it stops reading. [`feed`] plays that role for a
//! list of pieces and returns a [`Transcript`] of requests, direct writes and the close, so that
//! two different splits of the same bytes can be compared.

use gearmand_plugin_api::{Codec, DecodeSink, Next};

/// One thing a codec did while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `sink.request(kind, args)`.
    Request(u32, Vec<Vec<u8>>),
    /// `sink.write(bytes)`.
    Write(Vec<u8>),
}

/// Everything a connection's codec produced from one byte stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub events: Vec<Event>,
    /// The codec asked to close the connection.
    pub closed: bool,
    /// Bytes still buffered (not consumed) when the input ran out.
    pub leftover: Vec<u8>,
}

impl Transcript {
    /// The requests only, in order.
    pub fn requests(&self) -> impl Iterator<Item = (u32, &[Vec<u8>])> {
        self.events.iter().filter_map(|e| match e {
            Event::Request(k, a) => Some((*k, a.as_slice())),
            Event::Write(_) => None,
        })
    }

    /// All direct writes joined.
    pub fn written(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.events {
            if let Event::Write(w) = e {
                out.extend_from_slice(w);
            }
        }
        out
    }
}

/// A [`DecodeSink`] that records events.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    /// A write left out of the record: one that may or may not happen depending on how the bytes
    /// were split (HTTP's interim `100 Continue`). Left out here, before consecutive writes are
    /// joined, because once joined to a neighbour it could no longer be told apart.
    pub unrecorded: Option<&'static [u8]>,
}

impl DecodeSink for Recorder {
    fn request(&mut self, kind: u32, args: &[&[u8]]) {
        self.events.push(Event::Request(
            kind,
            args.iter().map(|a| a.to_vec()).collect(),
        ));
    }
    fn write(&mut self, bytes: &[u8]) {
        if self.unrecorded == Some(bytes) {
            return;
        }
        // Consecutive writes are one event: how a codec chunks its writes is not behaviour.
        if let Some(Event::Write(last)) = self.events.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.events.push(Event::Write(bytes.to_vec()));
        }
    }
}

/// Feeds `pieces` to `codec` the way the host does and checks the decode contract on the way:
/// never more consumed than offered, and no progress without new bytes.
pub fn feed<C: Codec>(codec: &mut C, pieces: &[&[u8]]) -> Transcript {
    feed_into(codec, pieces, Recorder::default())
}

/// [`feed`], recording into `rec` (for a recorder that leaves a write out).
pub fn feed_into<C: Codec>(codec: &mut C, pieces: &[&[u8]], mut rec: Recorder) -> Transcript {
    let mut pending: Vec<u8> = Vec::new();
    let mut closed = false;
    for piece in pieces {
        pending.extend_from_slice(piece);
        let (used, verdict) = codec.decode(&pending, &mut rec);
        assert!(
            used <= pending.len(),
            "decode consumed {used} of {} bytes",
            pending.len()
        );
        pending.drain(..used);
        if verdict == Next::Close {
            closed = true;
            break;
        }
    }
    if !closed && !pending.is_empty() {
        // The host calls decode again only with more bytes, but a codec must not depend on that:
        // the same bytes again are still incomplete and yield nothing.
        let before = rec.events.len();
        let (used, verdict) = codec.decode(&pending, &mut rec);
        assert_eq!(
            (used, verdict, rec.events.len()),
            (0, Next::Continue, before),
            "decode made progress on bytes it had already declined: {:?}",
            &rec.events[before..]
        );
    }
    Transcript {
        events: rec.events,
        closed,
        leftover: if closed { Vec::new() } else { pending },
    }
}

/// `stream` as one piece, as seeded pieces, and (when short enough for it to stay fast) a byte at
/// a time.
pub fn splits(stream: &[u8], seed: u64, bytewise_max: usize) -> Vec<Vec<&[u8]>> {
    if stream.is_empty() {
        return vec![vec![stream]];
    }
    let mut plans = vec![vec![stream], crate::input::split_points(stream, seed)];
    if stream.len() <= bytewise_max {
        plans.push(stream.chunks(1).collect());
    }
    plans
}
