//! The read-only status page served at `/-/` (and `/-/index.html`).
//!
//! One self-contained HTML file ([`HTML`], `status_page.html` beside this file, embedded at build
//! time): inline CSS and a little inline JavaScript that polls `/-/status` every two seconds and
//! draws queues per function and priority, workers, running jobs and throughput over the last
//! five minutes. There is no build step and nothing is loaded from elsewhere; the
//! Content-Security-Policy sent with it lets the browser enforce that (same-origin `fetch` only).
//!
//! The page is static: every request gets the same bytes, rendered without asking the engine.

use crate::response::{self, Ctx, Extra, Status};

/// The page itself.
pub const HTML: &[u8] = include_bytes!("status_page.html");

/// Headers sent with the page: no external resources, no framing, no caching of a stale page.
const HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-cache"),
    ("Referrer-Policy", "no-referrer"),
];

/// Appends the page response to `out`.
pub fn write(out: &mut Vec<u8>, ctx: Ctx) {
    let extra = Extra {
        content_type: Some("text/html; charset=utf-8"),
        headers: HEADERS,
        ..Extra::default()
    };
    response::write(out, ctx, Status::Ok, extra, HTML);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        String::from_utf8(HTML.to_vec()).expect("the page is UTF-8")
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The SVG namespace is a name, not a resource.
        let p = page().replace("\"http://www.w3.org/2000/svg\"", "SVG_NS");
        for bad in ["http://", "https://", "src=", "@import", "url("] {
            assert!(
                !p.contains(bad),
                "status page must be self-contained: found {bad:?}"
            );
        }
        // Data comes from the JSON endpoint, relative to /-/.
        assert!(p.contains("fetch(\"status\""), "page polls /-/status");
    }

    #[test]
    fn names_are_never_written_as_markup() {
        // Function names and client ids come from the network: the page builds text nodes only.
        let p = page();
        assert!(!p.contains("innerHTML"), "use textContent / DOM nodes");
        assert!(!p.contains("insertAdjacentHTML"));
        assert!(!p.contains("document.write"));
    }

    #[test]
    fn served_as_html_with_a_policy() {
        let mut out = Vec::new();
        let ctx = Ctx {
            keep_alive: true,
            ..Ctx::CLOSING
        };
        write(&mut out, ctx);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(text.contains("Content-Security-Policy: default-src 'none';"));
        assert!(text.contains(&format!("Content-Length: {}\r\n", HTML.len())));
        assert!(text.ends_with("</html>\n"));
    }
}
