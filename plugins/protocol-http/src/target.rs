//! From the request target to what the request is for: a job for a function, or one of the
//! server's own endpoints under the reserved prefix `/-/`.
//!
//! The function name is the path without its leading slashes, percent-decoded (`/a/b%20c` →
//! `a/b c`); the query string is not part of it. The reserved prefix is matched on the raw path,
//! so a function whose name really starts with `-/` stays reachable as `/%2D/...`.

use crate::head::HttpError;
use crate::response::Status;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::Priority;

/// The reserved prefix of the server's own endpoints.
pub const RESERVED: &[u8] = b"/-/";

/// The server's own endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/-/` or `/-/index.html`: the HTML status page.
    Page,
    /// `/-/health`: 200 `ok` once the engine answers.
    Health,
    /// `/-/status`: the engine's `functions`, `workers` and `abilities` tables as JSON.
    Status,
    /// `/-/metrics`: Prometheus text format.
    Metrics,
    /// `/-/job/<handle>`: GET_STATUS as JSON.
    Job,
    /// `/-/unique/<unique>`: GET_STATUS_UNIQUE as JSON.
    Unique,
}

/// What a request target asks for. The function name or the endpoint argument is written to the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Submit a job to the function now in the buffer.
    Submit,
    /// One of the endpoints (its handle or unique, if any, is in the buffer).
    Endpoint(Endpoint),
    /// A path that names nothing: an empty function, or an unknown endpoint.
    NotFound(&'static str),
}

/// Maps `target` to a route, decoding the name into `name`.
pub fn route(target: &[u8], name: &mut Vec<u8>) -> Result<Route, HttpError> {
    name.clear();
    let path = path_of(target)?;
    if let Some(rest) = path.strip_prefix(RESERVED) {
        return endpoint(rest, name);
    }
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    percent_decode(&path[start..], name)?;
    if name.is_empty() {
        return Ok(Route::NotFound("no function name in the path"));
    }
    Ok(Route::Submit)
}

/// The `/-/...` endpoints.
fn endpoint(rest: &[u8], arg: &mut Vec<u8>) -> Result<Route, HttpError> {
    let (which, raw_arg) = match rest {
        b"" | b"index.html" => (Endpoint::Page, None),
        b"health" => (Endpoint::Health, None),
        b"status" => (Endpoint::Status, None),
        b"metrics" => (Endpoint::Metrics, None),
        _ => {
            if let Some(h) = rest.strip_prefix(b"job/") {
                (Endpoint::Job, Some(h))
            } else if let Some(u) = rest.strip_prefix(b"unique/") {
                (Endpoint::Unique, Some(u))
            } else {
                return Ok(Route::NotFound("unknown endpoint"));
            }
        }
    };
    if let Some(raw) = raw_arg {
        percent_decode(raw, arg)?;
        if arg.is_empty() {
            return Ok(Route::NotFound("missing handle or unique"));
        }
    }
    Ok(Route::Endpoint(which))
}

/// The path of an origin-form (`/p?q`) or absolute-form (`http://h/p?q`) target, without the query.
fn path_of(target: &[u8]) -> Result<&[u8], HttpError> {
    let path = if target.starts_with(b"/") {
        target
    } else if let Some(after) = strip_scheme(target) {
        let slash = after.iter().position(|&b| b == b'/').unwrap_or(after.len());
        match &after[slash..] {
            [] => b"/",
            p => p,
        }
    } else {
        return Err(HttpError::new(
            Status::BadRequest,
            "request target must be a path",
        ));
    };
    let end = path.iter().position(|&b| b == b'?').unwrap_or(path.len());
    Ok(&path[..end])
}

fn strip_scheme(target: &[u8]) -> Option<&[u8]> {
    for scheme in [&b"http://"[..], b"https://"] {
        if target.len() >= scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&target[scheme.len()..]);
        }
    }
    None
}

/// `%XX` → byte. A broken escape or an encoded NUL (which gear cannot carry) is a bad request.
pub fn percent_decode(raw: &[u8], out: &mut Vec<u8>) -> Result<(), HttpError> {
    let bad = |reason| HttpError::new(Status::BadRequest, reason);
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            raw.get(i + 1).and_then(|&c| hex(c)),
            raw.get(i + 2).and_then(|&c| hex(c)),
        ) else {
            return Err(bad("malformed percent-encoding in the path"));
        };
        let decoded = hi * 16 + lo;
        if decoded == 0 {
            return Err(bad("NUL byte in the path"));
        }
        out.push(decoded);
        i += 3;
    }
    Ok(())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The gear submit packet for a background flag and a priority.
pub fn submit_type(background: bool, priority: Priority) -> u32 {
    match (background, priority) {
        (false, Priority::Normal) => ptype::SUBMIT_JOB,
        (false, Priority::High) => ptype::SUBMIT_JOB_HIGH,
        (false, Priority::Low) => ptype::SUBMIT_JOB_LOW,
        (true, Priority::Normal) => ptype::SUBMIT_JOB_BG,
        (true, Priority::High) => ptype::SUBMIT_JOB_HIGH_BG,
        (true, Priority::Low) => ptype::SUBMIT_JOB_LOW_BG,
    }
}

/// Whether a submit packet type is a background one.
pub fn is_background(t: u32) -> bool {
    matches!(
        t,
        ptype::SUBMIT_JOB_BG | ptype::SUBMIT_JOB_HIGH_BG | ptype::SUBMIT_JOB_LOW_BG
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: &str) -> (Result<Route, HttpError>, String) {
        let mut name = Vec::new();
        let r = route(target.as_bytes(), &mut name);
        (r, String::from_utf8_lossy(&name).into_owned())
    }

    #[test]
    fn functions_are_decoded_paths_without_query() {
        assert_eq!(run("/reverse"), (Ok(Route::Submit), "reverse".into()));
        assert_eq!(run("///a/b%20c"), (Ok(Route::Submit), "a/b c".into()));
        assert_eq!(run("/bgfn?x=1"), (Ok(Route::Submit), "bgfn".into()));
        assert_eq!(run("/%2D/x"), (Ok(Route::Submit), "-/x".into()));
        assert_eq!(run("/-"), (Ok(Route::Submit), "-".into()));
        assert_eq!(run("/caf%C3%A9"), (Ok(Route::Submit), "café".into()));
        assert_eq!(
            run("http://example.org:8080/fn?q"),
            (Ok(Route::Submit), "fn".into())
        );
    }

    #[test]
    fn empty_function_is_not_found() {
        for t in ["/", "///", "/?x=1", "http://host", "HTTP://host/"] {
            assert!(matches!(run(t).0, Ok(Route::NotFound(_))), "{t}");
        }
    }

    #[test]
    fn endpoints() {
        let ep = |e| Ok(Route::Endpoint(e));
        assert_eq!(run("/-/health").0, ep(Endpoint::Health));
        assert_eq!(run("/-/status?pretty").0, ep(Endpoint::Status));
        assert_eq!(run("/-/metrics").0, ep(Endpoint::Metrics));
        assert_eq!(run("/-/job/H:vm:1"), (ep(Endpoint::Job), "H:vm:1".into()));
        assert_eq!(run("/-/unique/a%2Fb"), (ep(Endpoint::Unique), "a/b".into()));
        assert!(matches!(run("/-/nope").0, Ok(Route::NotFound(_))));
        assert!(matches!(run("/-/job/").0, Ok(Route::NotFound(_))));
        assert_eq!(run("/-/").0, ep(Endpoint::Page));
        assert_eq!(run("/-/?refresh=1").0, ep(Endpoint::Page));
        assert_eq!(run("/-/index.html").0, ep(Endpoint::Page));
        assert!(matches!(run("/-/index.htm").0, Ok(Route::NotFound(_))));
    }

    #[test]
    fn bad_targets() {
        for t in ["*", "fn", "/a%2", "/a%zz", "/a%00b", "/-/job/%G1"] {
            let err = run(t).0.unwrap_err();
            assert_eq!(err.status, Status::BadRequest, "{t}");
        }
    }
}
