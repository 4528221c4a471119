//! `http`: the HTTP protocol plugin (`gearmand -r http`, port `--http-port`, default 8080).
//!
//! Each HTTP request becomes a gear submission handled exactly like a gear client's:
//! `POST /<function>` (also PUT, GET, HEAD) with the body as the workload, and the headers
//! `X-Gearman-Unique` (default `-`: identical bodies coalesce), `X-Gearman-Background: true` and
//! `X-Gearman-Priority: high|low`. A background request is answered at JOB_CREATED, a foreground
//! one with the job's result, in the original's response layout. Beyond the original: real
//! HTTP/1.1 (keep-alive, pipelining, chunked bodies, `Expect: 100-continue`, percent-decoded
//! paths), proper status codes, limits, and endpoints under the reserved prefix `/-/`
//! (`health`, `status`, `metrics`, `job/<handle>`, `unique/<unique>`, and the status page at `/-/`).
//!
//! Reading order: [`config`] (options and limits), [`head`] (request line and headers),
//! [`target`] (path → function or endpoint), [`body`] (Content-Length and chunked bodies),
//! [`codec`] (the per-connection state machine), [`exchange`] (outstanding requests and how engine
//! replies complete them), [`response`] (status codes and the response layout), [`render`]
//! (JSON output of the endpoints), [`prometheus`] (`/-/metrics`), [`page`] (the HTML status page),
//! [`timer`] (header, body and idle timeouts).
//!
//! The host owns sockets, threads and buffers; nothing here does I/O.

#![forbid(unsafe_code)]

pub mod body;
pub mod codec;
pub mod config;
pub mod exchange;
pub mod head;
pub mod page;
pub mod prometheus;
pub mod render;
pub mod response;
pub mod target;
pub mod timer;

pub use codec::HttpCodec;
pub use config::Limits;

use gearmand_plugin_api::{OptionDef, Options, PluginInfo, ProtocolPlugin};
use std::fmt;

/// Why the plugin could not start: an option it refused, shown with the plugin's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(pub config::ConfigError);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http: {}", self.0)
    }
}

impl std::error::Error for StartError {}

/// The plugin instance: the port to listen on and the limits every connection gets.
#[derive(Debug, Clone)]
pub struct HttpProtocol {
    port: String,
    limits: Limits,
}

impl HttpProtocol {
    /// The limits connections of this instance enforce.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl PluginInfo for HttpProtocol {
    const NAME: &'static str = "http";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "HTTP protocol: submit jobs and watch the server over HTTP";
    const OPTIONS: &'static [OptionDef] = config::OPTIONS;
}

impl ProtocolPlugin for HttpProtocol {
    type Codec = HttpCodec;
    type Error = StartError;

    fn create(options: &Options) -> Result<Self, StartError> {
        let limits = Limits::from_options(options).map_err(StartError)?;
        let port = options
            .get("http-port")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| config::DEFAULT_PORT.to_string());
        log::info!(
            "http protocol on port {port} (max header {} B, max body {} B, header timeout {:?}, \
             idle timeout {:?})",
            limits.max_header,
            limits.max_body,
            limits.header_timeout,
            limits.idle_timeout
        );
        Ok(HttpProtocol { port, limits })
    }

    fn listen_port(&self) -> &str {
        &self.port
    }

    fn open(&self, peer: &str) -> HttpCodec {
        log::trace!("http connection from {peer}");
        HttpCodec::new(self.limits)
    }
}

gearmand_plugin_api::export_protocol_plugin!(HttpProtocol);
