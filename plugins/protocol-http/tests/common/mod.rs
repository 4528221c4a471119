//! A stand-in for the host: feeds bytes to a codec the way the host does (unconsumed bytes are
//! offered again with more), records the gear requests it emits, answers with gear responses, and
//! parses the HTTP bytes that come out.

#![allow(dead_code)]

use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::{Codec, DecodeSink, Next};
use gearmand_protocol_http::{HttpCodec, Limits};

/// One gear request the codec emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    pub kind: u32,
    pub args: Vec<Vec<u8>>,
}

impl Req {
    pub fn new(kind: u32, args: &[&[u8]]) -> Req {
        Req {
            kind,
            args: args.iter().map(|a| a.to_vec()).collect(),
        }
    }
}

/// The sink side of the host: requests recorded, written bytes appended to the output stream.
struct Sink<'a> {
    requests: &'a mut Vec<Req>,
    output: &'a mut Vec<u8>,
}

impl DecodeSink for Sink<'_> {
    fn request(&mut self, kind: u32, args: &[&[u8]]) {
        self.requests.push(Req::new(kind, args));
    }
    fn write(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }
}

/// One connection as the host sees it.
pub struct Conn {
    pub codec: HttpCodec,
    /// Bytes received but not consumed yet.
    pub pending: Vec<u8>,
    pub requests: Vec<Req>,
    /// Everything written to the client, in order.
    pub output: Vec<u8>,
    /// The codec asked to close the connection.
    pub closed: bool,
}

impl Conn {
    /// A connection whose OPTION_REQ `exceptions` has been answered.
    pub fn new() -> Conn {
        Conn::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Conn {
        let mut c = Conn {
            codec: HttpCodec::new(limits),
            pending: Vec::new(),
            requests: Vec::new(),
            output: Vec::new(),
            closed: false,
        };
        c.feed(b"");
        assert_eq!(
            c.take_requests(),
            vec![Req::new(ptype::OPTION_REQ, &[b"exceptions"])],
            "a connection starts by enabling exceptions"
        );
        c.reply(ptype::OPTION_RES, &[b"exceptions"]);
        assert!(c.output.is_empty(), "OPTION_RES is swallowed");
        c
    }

    /// Receives `bytes` and runs the decoder once, like one read event of the host.
    pub fn feed(&mut self, bytes: &[u8]) -> Next {
        assert!(!self.closed, "feeding a closed connection");
        self.pending.extend_from_slice(bytes);
        let mut sink = Sink {
            requests: &mut self.requests,
            output: &mut self.output,
        };
        let (used, decoded) = self.codec.decode(&self.pending, &mut sink);
        assert!(used <= self.pending.len(), "consumed more than offered");
        self.pending.drain(..used);
        if decoded == Next::Close {
            self.closed = true;
        }
        decoded
    }

    /// Receives `bytes` one byte per read event.
    pub fn feed_bytewise(&mut self, bytes: &[u8]) {
        for b in bytes {
            if self.closed {
                break;
            }
            self.feed(std::slice::from_ref(b));
        }
    }

    /// The engine answers with one response.
    pub fn reply(&mut self, kind: u32, args: &[&[u8]]) -> Next {
        let mut out = Vec::new();
        let decoded = self.codec.encode(kind, args, &mut out);
        self.output.extend_from_slice(&out);
        if decoded == Next::Close {
            self.closed = true;
        }
        decoded
    }

    /// The engine answers an admin line.
    pub fn reply_raw(&mut self, text: &[u8]) -> Next {
        self.reply(kind::RAW, &[text])
    }

    pub fn take_requests(&mut self) -> Vec<Req> {
        std::mem::take(&mut self.requests)
    }

    /// The responses written so far, parsed (and removed from the output).
    pub fn take_responses(&mut self) -> Vec<Response> {
        let out = std::mem::take(&mut self.output);
        parse_responses(&out, false)
    }

    pub fn take_output(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.output)).into_owned()
    }
}

/// One parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub code: u16,
    pub reason: String,
    /// Header lines in order, as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses back-to-back responses; `head_only` = the bodies are not on the wire (HEAD).
pub fn parse_responses(mut bytes: &[u8], head_only: bool) -> Vec<Response> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = find(bytes, b"\r\n\r\n").expect("response head ends with a blank line") + 4;
        let head = std::str::from_utf8(&bytes[..end - 4]).expect("head is text");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap();
        let mut parts = status.splitn(3, ' ');
        let version = parts.next().unwrap().to_string();
        let code = parts.next().unwrap().parse().unwrap();
        let reason = parts.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").expect("header: value");
                (n.to_string(), v.to_string())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let body_len = if head_only || code == 100 { 0 } else { len };
        let body = bytes[end..end + body_len].to_vec();
        bytes = &bytes[end + body_len..];
        out.push(Response {
            version,
            code,
            reason,
            headers,
            body,
        });
    }
    out
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A small limits set for tests of the limits.
pub fn small_limits() -> Limits {
    Limits {
        max_header: 1024,
        max_body: 100,
        ..Limits::default()
    }
}
