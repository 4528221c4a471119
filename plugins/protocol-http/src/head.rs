//! The request head: the request line and the header lines, up to the blank line.
//!
//! Parsing is two-phase. [`HeadScanner::scan`] only looks for the end of the head, remembering how
//! far it got so that input fed a byte at a time is not rescanned, and enforces the size and
//! line-count limits while the head is still incomplete (a header flood is refused before it is
//! buffered); httparse has no limits of its own. [`parse`] then reads the complete head with
//! `httparse::Request` into a [`Head`] that borrows from the input.
//!
//! httparse checks the syntax: tokens, the request target's bytes, header names and values, line
//! ends (a bare `\n` is accepted, as the original did), runs of spaces in the request line, and
//! empty lines before it (RFC 9112 §2.2). Our own code keeps what it does not do: the limits, the
//! answer to each failure (a well-formed `HTTP/d.d` other than 1.0 and 1.1 is 505, not 400), and
//! the meaning of the headers this server acts on (framing, `Expect`, `Connection`,
//! `X-Gearman-*`). httparse refuses three malformed shapes the hand parser let through: a raw
//! non-UTF-8 byte in the target (it must be percent-encoded), and spaces before the method or
//! after the version.

use crate::config::MAX_HEADER_LINES;
use crate::response::Status;
use gearmand_plugin_api::Priority;
use std::mem::MaybeUninit;

/// A request-level failure: the status to answer with and a one-line reason for the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    pub status: Status,
    pub reason: &'static str,
}

impl HttpError {
    pub const fn new(status: Status, reason: &'static str) -> HttpError {
        HttpError { status, reason }
    }
}

const fn bad(reason: &'static str) -> HttpError {
    HttpError::new(Status::BadRequest, reason)
}

/// What the scanner found so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The head is complete: it is the first `len` bytes of the input.
    Complete { len: usize },
    /// The head is not complete yet; offer more bytes.
    NeedMore,
}

/// Incremental search for the end of a request head.
#[derive(Debug, Default)]
pub struct HeadScanner {
    /// Start of the first line not yet seen complete.
    line_start: usize,
    /// Where the request line starts (after skipped empty lines), once known.
    request_line: Option<usize>,
    /// Complete lines seen after the request line.
    header_lines: usize,
}

impl HeadScanner {
    /// Forgets everything: the next input starts a new head.
    pub fn reset(&mut self) {
        *self = HeadScanner::default();
    }

    /// Looks for the blank line ending the head in `input` (which starts where the head starts).
    pub fn scan(&mut self, input: &[u8], max_header: usize) -> Result<Scan, HttpError> {
        while let Some(nl) = memchr(b'\n', &input[self.line_start..]) {
            let end = self.line_start + nl + 1;
            let empty = line_content(&input[self.line_start..end]).is_empty();
            match (self.request_line, empty) {
                (None, true) => {}
                (None, false) => {
                    if end - self.line_start > max_header {
                        return Err(HttpError::new(Status::UriTooLong, "request line too long"));
                    }
                    self.request_line = Some(self.line_start);
                }
                (Some(_), true) => return self.finish(end, max_header),
                (Some(_), false) => {
                    self.header_lines += 1;
                    if self.header_lines > MAX_HEADER_LINES {
                        return Err(HttpError::new(
                            Status::HeaderTooLarge,
                            "too many header lines",
                        ));
                    }
                }
            }
            self.line_start = end;
            self.check_size(end, max_header)?;
        }
        // The unfinished last line belongs to the head too.
        self.check_size(input.len(), max_header)?;
        Ok(Scan::NeedMore)
    }

    fn finish(&self, end: usize, max_header: usize) -> Result<Scan, HttpError> {
        self.check_size(end, max_header)?;
        Ok(Scan::Complete { len: end })
    }

    /// Refuses a head (or a run of leading empty lines) longer than the limit.
    fn check_size(&self, len: usize, max_header: usize) -> Result<(), HttpError> {
        let start = self.request_line.unwrap_or(0);
        if len - start <= max_header {
            return Ok(());
        }
        if self.request_line.is_none() {
            Err(HttpError::new(Status::UriTooLong, "request line too long"))
        } else {
            Err(HttpError::new(
                Status::HeaderTooLarge,
                "request header fields too large",
            ))
        }
    }
}

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Trace,
    /// A well-formed method this server does not serve (405).
    Other,
}

/// The protocol version; anything else is refused while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: Method,
    /// The request target exactly as sent (`/fn%20name?x=1`).
    pub target: &'a [u8],
    pub version: Version,
    pub framing: Framing,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Whether the client wants the connection kept after this request.
    pub keep_alive: bool,
    /// `X-Gearman-Unique`, if given and not empty.
    pub unique: Option<&'a [u8]>,
    /// `X-Gearman-Background: true`.
    pub background: bool,
    /// `X-Gearman-Priority`.
    pub priority: Priority,
}

/// Header facts collected line by line before they are combined.
#[derive(Default)]
struct Fields<'a> {
    content_length: Option<u64>,
    transfer_encoding: Option<&'a [u8]>,
    expect: Option<&'a [u8]>,
    close: bool,
    keep_alive: bool,
    unique: Option<&'a [u8]>,
    background: bool,
    priority: Option<Priority>,
}

/// Parses a complete head (as delimited by [`HeadScanner`]).
pub fn parse(head: &[u8]) -> Result<Head<'_>, HttpError> {
    // Uninitialised: the scanner allows up to MAX_HEADER_LINES, most requests carry a few.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADER_LINES];
    let mut req = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .parse_request_with_uninit_headers(&mut req, head, &mut headers);
    match parsed {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head")),
        Err(e) => return Err(refusal(e, head)),
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(bad("malformed request line"));
    };
    let version = match minor {
        0 => Version::Http10,
        _ => Version::Http11,
    };
    let mut fields = Fields::default();
    for h in req.headers.iter() {
        known_header(h.name.as_bytes(), trim_ows(h.value), &mut fields)?;
    }
    fields.into_head(method_of(method), target.as_bytes(), version)
}

impl<'a> Fields<'a> {
    /// Combines the headers with the request line.
    fn into_head(
        self,
        method: Method,
        target: &'a [u8],
        version: Version,
    ) -> Result<Head<'a>, HttpError> {
        let framing = framing(&self, version)?;
        let expect_continue = match self.expect {
            None => false,
            Some(v) if v.eq_ignore_ascii_case(b"100-continue") => true,
            Some(_) => {
                return Err(HttpError::new(
                    Status::ExpectationFailed,
                    "only 100-continue is supported",
                ))
            }
        };
        let keep_alive = match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive && !self.close,
        };
        Ok(Head {
            method,
            target,
            version,
            framing,
            expect_continue,
            keep_alive,
            unique: self.unique,
            background: self.background,
            priority: self.priority.unwrap_or(Priority::Normal),
        })
    }
}

fn method_of(method: &str) -> Method {
    match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "TRACE" => Method::Trace,
        _ => Method::Other,
    }
}

/// The answer to a head httparse refused.
fn refusal(e: httparse::Error, head: &[u8]) -> HttpError {
    match e {
        httparse::Error::Version => version_refusal(head),
        httparse::Error::HeaderName => bad("malformed header line"),
        httparse::Error::HeaderValue => bad("control character in header value"),
        httparse::Error::TooManyHeaders => {
            HttpError::new(Status::HeaderTooLarge, "too many header lines")
        }
        _ => bad("malformed request line"),
    }
}

/// httparse knows only HTTP/1.0 and HTTP/1.1: a request line of three parts whose version is
/// another well-formed `HTTP/d.d` is 505, anything else 400.
fn version_refusal(head: &[u8]) -> HttpError {
    let line = head
        .split(|&b| b == b'\n')
        .map(line_content)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some([b'H', b'T', b'T', b'P', b'/', major, b'.', minor]), None)
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            HttpError::new(
                Status::VersionNotSupported,
                "only HTTP/1.0 and HTTP/1.1 are supported",
            )
        }
        _ => bad("malformed HTTP version"),
    }
}

/// Records the headers this server acts on.
fn known_header<'a>(name: &[u8], value: &'a [u8], f: &mut Fields<'a>) -> Result<(), HttpError> {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("content-length") {
        let n = content_length(value)?;
        if f.content_length.is_some_and(|old| old != n) {
            return Err(bad("conflicting Content-Length headers"));
        }
        f.content_length = Some(n);
    } else if is("transfer-encoding") {
        if f.transfer_encoding.is_some() {
            return Err(bad("repeated Transfer-Encoding header"));
        }
        f.transfer_encoding = Some(value);
    } else if is("expect") {
        f.expect = Some(value);
    } else if is("connection") {
        for token in value.split(|&b| b == b',').map(trim_ows) {
            f.close |= token.eq_ignore_ascii_case(b"close");
            f.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    } else if is("x-gearman-unique") {
        f.unique = (!value.is_empty()).then_some(value);
    } else if is("x-gearman-background") {
        f.background = value.eq_ignore_ascii_case(b"true");
    } else if is("x-gearman-priority") {
        f.priority = Some(if value.eq_ignore_ascii_case(b"high") {
            Priority::High
        } else if value.eq_ignore_ascii_case(b"low") {
            Priority::Low
        } else {
            Priority::Normal
        });
    }
    Ok(())
}

/// Decimal digits only, at most 19 of them (no sign, no spaces inside, no overflow).
fn content_length(value: &[u8]) -> Result<u64, HttpError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad("malformed Content-Length"));
    }
    Ok(value
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// Decides how the body is delimited (RFC 9112 §6.3, refusing the ambiguous cases).
fn framing(f: &Fields<'_>, version: Version) -> Result<Framing, HttpError> {
    match (f.transfer_encoding, f.content_length) {
        (None, None | Some(0)) => Ok(Framing::None),
        (None, Some(n)) => Ok(Framing::Length(n)),
        (Some(_), Some(_)) => Err(bad("both Content-Length and Transfer-Encoding")),
        (Some(_), None) if version == Version::Http10 => {
            Err(bad("Transfer-Encoding in an HTTP/1.0 request"))
        }
        (Some(te), None) if te.eq_ignore_ascii_case(b"chunked") => Ok(Framing::Chunked),
        (Some(_), None) => Err(HttpError::new(
            Status::NotImplemented,
            "only Transfer-Encoding: chunked is supported",
        )),
    }
}

/// A line without its `\n` and the optional `\r` before it.
pub fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Strips optional whitespace (spaces and tabs) on both sides.
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The first position of `needle` in `hay`.
pub fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}
