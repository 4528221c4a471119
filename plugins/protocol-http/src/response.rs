//! Writing HTTP responses: status codes, the header layout of the original, keep-alive headers.
//!
//! The original's success layout is kept byte for byte (apart from the version in the status line):
//!
//! ```text
//! HTTP/1.1 200 OK
//! X-Gearman-Job-Handle: <handle>
//! X-Gearman-Command: <COMMAND>
//! Content-Length: <len>
//! Server: Gearman/<version>
//! ```
//!
//! Other responses use the same order, leaving out what does not apply; `Content-Type` comes
//! before `Content-Length`; `Allow`, any further headers and `Connection` follow `Server` when
//! present. Every writer appends to a caller's buffer (usually the host's output buffer) so no
//! response allocates on its own.

use crate::head::{self, Version};
use std::io::Write;

/// The `Server` header value (`Gearman/<version>`, as the original sent).
pub const SERVER: &str = concat!("Gearman/", env!("CARGO_PKG_VERSION"));

/// The interim response to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Every status this plugin answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    UriTooLong,
    ExpectationFailed,
    HeaderTooLarge,
    InternalError,
    NotImplemented,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    /// The status line's code and reason phrase.
    pub fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::RequestTimeout => "408 Request Timeout",
            Status::PayloadTooLarge => "413 Content Too Large",
            Status::UriTooLong => "414 URI Too Long",
            Status::ExpectationFailed => "417 Expectation Failed",
            Status::HeaderTooLarge => "431 Request Header Fields Too Large",
            Status::InternalError => "500 Internal Server Error",
            Status::NotImplemented => "501 Not Implemented",
            Status::ServiceUnavailable => "503 Service Unavailable",
            Status::VersionNotSupported => "505 HTTP Version Not Supported",
        }
    }
}

/// What every response of one request shares: how to speak to this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    pub version: Version,
    /// Keep the connection after this response.
    pub keep_alive: bool,
    /// A HEAD request: headers only.
    pub head_only: bool,
}

impl Ctx {
    /// The context for an error answer to a head that did not parse: HTTP/1.0 if its request line
    /// says so, HTTP/1.1 otherwise.
    pub fn closing_for(raw: &[u8]) -> Ctx {
        let first = raw
            .split(|&b| b == b'\n')
            .map(head::line_content)
            .find(|l| !l.is_empty())
            .unwrap_or(b"");
        let version = if first.ends_with(b" HTTP/1.0") {
            Version::Http10
        } else {
            Version::Http11
        };
        Ctx {
            version,
            ..Ctx::CLOSING
        }
    }

    /// The context for answering a request that could not be parsed: HTTP/1.1, then close.
    pub const CLOSING: Ctx = Ctx {
        version: Version::Http11,
        keep_alive: false,
        head_only: false,
    };
}

/// The optional parts of a response.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extra<'a> {
    /// `X-Gearman-Job-Handle`.
    pub handle: Option<&'a [u8]>,
    /// `X-Gearman-Command`.
    pub command: Option<&'a str>,
    pub content_type: Option<&'a str>,
    /// `Allow` (405 answers).
    pub allow: Option<&'a str>,
    /// Further `(name, value)` headers, written after the others (the status page's policy).
    pub headers: &'a [(&'a str, &'a str)],
}

/// Appends a complete response to `out`.
pub fn write(out: &mut Vec<u8>, ctx: Ctx, status: Status, extra: Extra<'_>, body: &[u8]) {
    write_parts(out, ctx, status, extra, &[body]);
}

/// Appends a complete response whose body is the concatenation of `body` (accumulated WORK_DATA
/// in front of the WORK_COMPLETE data, without joining them first).
pub fn write_parts(out: &mut Vec<u8>, ctx: Ctx, status: Status, extra: Extra<'_>, body: &[&[u8]]) {
    let version = match ctx.version {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
    };
    let len: usize = body.iter().map(|b| b.len()).sum();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{version} {}\r\n", status.line());
    if let Some(handle) = extra.handle {
        out.extend_from_slice(b"X-Gearman-Job-Handle: ");
        out.extend_from_slice(header_safe(handle));
        out.extend_from_slice(b"\r\n");
    }
    if let Some(command) = extra.command {
        let _ = write!(out, "X-Gearman-Command: {command}\r\n");
    }
    if let Some(content_type) = extra.content_type {
        let _ = write!(out, "Content-Type: {content_type}\r\n");
    }
    let _ = write!(out, "Content-Length: {len}\r\nServer: {SERVER}\r\n");
    if let Some(allow) = extra.allow {
        let _ = write!(out, "Allow: {allow}\r\n");
    }
    for (name, value) in extra.headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    match (ctx.version, ctx.keep_alive) {
        (Version::Http11, false) => out.extend_from_slice(b"Connection: close\r\n"),
        (Version::Http10, true) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
    if !ctx.head_only {
        for part in body {
            out.extend_from_slice(part);
        }
    }
}

/// A short plain-text error answer: `<reason>\n`.
pub fn write_error(out: &mut Vec<u8>, ctx: Ctx, status: Status, reason: &str, extra: Extra<'_>) {
    let extra = Extra {
        content_type: Some("text/plain; charset=utf-8"),
        ..extra
    };
    write_parts(out, ctx, status, extra, &[reason.as_bytes(), b"\n"]);
}

/// A handle comes from the engine; cut it at the first byte that would break the header block.
fn header_safe(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .position(|&b| b == b'\r' || b == b'\n' || b == 0)
        .unwrap_or(v.len());
    &v[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX11: Ctx = Ctx {
        version: Version::Http11,
        keep_alive: true,
        head_only: false,
    };

    #[test]
    fn original_layout_for_a_result() {
        let mut out = Vec::new();
        let extra = Extra {
            handle: Some(b"H:vm:3"),
            command: Some("WORK_COMPLETE"),
            ..Extra::default()
        };
        write_parts(&mut out, CTX11, Status::Ok, extra, &[b"ab", b"cd"]);
        let want = format!(
            "HTTP/1.1 200 OK\r\nX-Gearman-Job-Handle: H:vm:3\r\nX-Gearman-Command: WORK_COMPLETE\r\n\
             Content-Length: 4\r\nServer: {SERVER}\r\n\r\nabcd"
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn http10_and_close_headers_and_head_without_body() {
        let mut out = Vec::new();
        let ctx = Ctx {
            version: Version::Http10,
            keep_alive: true,
            head_only: true,
        };
        write(&mut out, ctx, Status::Ok, Extra::default(), b"xyz");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.ends_with("Connection: keep-alive\r\n\r\n"), "{text}");

        let mut out = Vec::new();
        write_error(
            &mut out,
            Ctx::CLOSING,
            Status::NotFound,
            "no",
            Extra::default(),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nno\n"), "{text}");
    }

    #[test]
    fn handle_cannot_inject_headers() {
        let mut out = Vec::new();
        let extra = Extra {
            handle: Some(b"H:1\r\nEvil: yes"),
            ..Extra::default()
        };
        write(&mut out, CTX11, Status::Ok, extra, b"");
        assert!(!String::from_utf8_lossy(&out).contains("Evil"));
    }
}
